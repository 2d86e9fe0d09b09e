"""Drift: existing tables whose columns differ in kind from what today's `describe` makes.

The doctor may not import the tap (describe → JSON Schema) or the target (JSON Schema → SQL
type), so this compares coarse families only — number, text, timestamp, date — with a small
mapping of its own: enough to catch a column created as NUMBER that WMS now calls text (or the
reverse) before the run meets it, not to predict lengths. Foreign keys (`*_id`), links (`url`,
`*_set`), unknown type names and columns not in describe are skipped. A difference is a
warning: the target widens a column to text itself, so drift is news, not a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from orchestrate.doctor.report import Check, ok, warn
from orchestrate.doctor.settings import DoctorSettings
from orchestrate.doctor.warehouse import Target, target

G = "warehouse"
_WORDS = {
    "timestamp": ("datetime", "timestamp", "datetimetz", "timestamptz"),
    "date": ("date",),
    "number": ("integer", "int", "bigint", "smallint", "long", "decimal", "numeric", "float",
               "double", "number", "real", "boolean", "bool", "nullboolean", "flag"),
    "text": ("text", "string", "char", "varchar", "str", "textarea", "email", "slug"),
}
_FAMILY = {w: fam for fam, words in _WORDS.items() for w in words}


def described_family(name: str, type_name: Any) -> str | None:
    """The family a describe field's column gets, or None where the mapping stays silent."""
    if name == "url" or name.endswith("_set") or (name.endswith("_id") and name != "status_id"):
        return None
    word = re.sub(r"[^a-z0-9]", "", str(type_name or "").lower())
    if word.endswith("field") and word != "field":
        word = word[: -len("field")]
    if name in ("create_ts", "mod_ts"):
        return "timestamp"
    return _FAMILY.get(word)


def oracle_family(data_type: str) -> str:
    t = data_type.upper()
    if t in {"NUMBER", "FLOAT", "BINARY_DOUBLE", "BINARY_FLOAT"}:
        return "number"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t in {"VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR", "CLOB", "NCLOB"}:
        return "text"
    return t.lower()


def table_name(prefix: str, entity: str, oracle: bool) -> str:
    name = re.sub(r"[^A-Za-z0-9_$#]", "_", f"{prefix}{entity}")
    return name.upper() if oracle else name.lower()


def _columns(conn: sa.Connection, t: Target, table: str) -> dict[str, str]:
    if t.oracle:
        rows = conn.exec_driver_sql(
            "SELECT COLUMN_NAME, DATA_TYPE FROM ALL_TAB_COLUMNS WHERE OWNER = :owner AND "
            "TABLE_NAME = :name", {"owner": (t.schema or t.user or "").strip('"'),
                                   "name": table}).all()
    else:
        rows = conn.exec_driver_sql(
            "SELECT name, type FROM pragma_table_info(?)", (table,)).all()
    conn.rollback()
    return {str(r[0]).upper(): str(r[1]) for r in rows}


def checks(s: DoctorSettings, describes: dict[str, dict[str, Any]]) -> Iterator[Check]:
    t = target(s.target)
    if isinstance(t, Check) or not describes:
        return
    prefix = str(s.target.get("table_prefix") or "")
    seen, drifted = 0, []
    try:
        with t.engine.connect() as conn:
            if t.oracle and not t.user:
                t.user = str(getattr(conn.connection.dbapi_connection, "username", "")).upper()
            for entity, fields in describes.items():
                table = table_name(prefix, entity, t.oracle)
                have = _columns(conn, t, table)
                if not have:
                    continue
                seen += 1
                diffs = list(_diffs(fields, have, t.oracle))
                if diffs:
                    drifted.append(f"{table}: {'; '.join(diffs[:6])}"
                                   + (" …" if len(diffs) > 6 else ""))
    except sa.exc.DBAPIError:
        return  # the warehouse checks already said why the database is out of reach
    finally:
        t.engine.dispose()
    if drifted:
        yield warn(G, "drift", " | ".join(drifted),
                   "expect the target to widen these columns (to text) on the next run; if "
                   "WMS changed a field's type for good, consider recreating the table in a "
                   "full sync")
    elif seen:
        yield ok(G, "drift", f"{seen} existing table(s) match today's describe")
    else:
        yield ok(G, "drift", "no tables yet: the first run creates them")


def _diffs(fields: dict[str, Any], have: dict[str, str], oracle: bool) -> Iterator[str]:
    for name, spec in fields.items():
        family = described_family(name, (spec or {}).get("type") if isinstance(spec, dict)
                                  else spec)
        decl = have.get(name.upper())
        if family is None or decl is None:
            continue
        if oracle:
            found = oracle_family(decl)
            if found != family:
                yield f"{name.upper()} is {decl.upper()}, describe says {family}"
        elif "INT" in decl.upper() and family != "number":
            # SQLite keeps INTEGER (integers, booleans) and TEXT (the rest, decimals too):
            # only an INTEGER column now described as something else is sure drift.
            yield f"{name} is {decl.upper()}, describe says {family}"
