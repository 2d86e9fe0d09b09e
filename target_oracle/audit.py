"""``<prefix>LOAD_AUDIT``: one row per committed batch and per publish (contracts §3).

The batch row is written by an ``INSERT … SELECT`` that counts inserted / updated /
unchanged rows by joining the staged batch to the live table *before* the merge, inside
the batch's transaction — so counting costs one statement, not a round trip per row, and
the audit row commits (or rolls back) together with the data it describes.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Sequence

from target_oracle import types as T
from target_oracle.dialects import Column, Dialect

#: Column order and types exactly as docs/contracts.md section 3.
AUDIT_COLUMNS: tuple[tuple[str, T.ColumnType], ...] = (
    ("run_id", T.ColumnType(T.STRING, 64)),
    ("pipeline", T.ColumnType(T.STRING, 64)),
    ("stream", T.ColumnType(T.STRING, 128)),
    ("table_name", T.ColumnType(T.STRING, 128)),
    ("load_method", T.ColumnType(T.STRING, 16)),
    ("event", T.ColumnType(T.STRING, 16)),
    ("table_version", T.ColumnType(T.INTEGER)),
    ("inserted", T.ColumnType(T.INTEGER)),
    ("updated", T.ColumnType(T.INTEGER)),
    ("unchanged", T.ColumnType(T.INTEGER)),
    ("deleted", T.ColumnType(T.INTEGER)),
    ("rejected", T.ColumnType(T.INTEGER)),
    ("started_at", T.ColumnType(T.TIMESTAMP)),
    ("finished_at", T.ColumnType(T.TIMESTAMP)),
)
_FIXED = ("run_id", "pipeline", "stream", "table_name", "load_method", "event",
          "table_version", "deleted", "rejected", "started_at", "finished_at")
_COUNTED = ("inserted", "updated", "unchanged")

_PROCESS_RUN_ID = str(uuid.uuid4())


def run_id() -> str:
    """``MELTANO_RUN_ID`` when Meltano gives one, else one uuid per target process."""
    return os.environ.get("MELTANO_RUN_ID") or _PROCESS_RUN_ID


def utc_now_text() -> str:
    """Now, in the same fixed-width UTC text the tap uses for date-times."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def audit_columns(dialect: Dialect) -> list[Column]:
    """The audit table's columns named for ``dialect`` (upper case on Oracle)."""
    return [
        Column(n.upper() if dialect.upper else n, n, ctype) for n, ctype in AUDIT_COLUMNS
    ]


def _bind(dialect: Dialect, name: str, ctype: T.ColumnType) -> str:
    return dialect.ts_bind(name) if ctype.kind == T.TIMESTAMP else f":{name}"


def insert_row_sql(dialect: Dialect, table: str) -> str:
    """Audit row with every value bound (publish events)."""
    cols = audit_columns(dialect)
    names = ", ".join(dialect.q(c.name) for c in cols)
    binds = ", ".join(_bind(dialect, c.prop or "", c.ctype) for c in cols)
    return f"INSERT INTO {table} ({names}) VALUES ({binds})"


def insert_counted_sql(dialect: Dialect, table: str, counts_from: str) -> str:
    """Audit row whose inserted/updated/unchanged come from ``counts_from``.

    ``counts_from`` is :meth:`Dialect.count_changes` output: three expressions and a FROM.
    """
    by_name = {c.prop: c for c in audit_columns(dialect)}
    order: Sequence[str] = (*_FIXED, *_COUNTED)
    names = ", ".join(dialect.q(by_name[n].name) for n in order)
    binds = ", ".join(_bind(dialect, n, by_name[n].ctype) for n in _FIXED)
    return f"INSERT INTO {table} ({names}) SELECT {binds}, {counts_from}"


def counted_binds(params: dict[str, object], *extra: str) -> dict[str, object]:
    """The binds of :func:`insert_counted_sql`: its fixed names plus ``extra`` (those of
    ``counts_from``), nothing else — python-oracledb rejects an unused named bind
    (``DPY-4008``; thick mode ``ORA-01036``), where SQLite silently ignores it."""
    return {n: params[n] for n in (*_FIXED, *extra)}
