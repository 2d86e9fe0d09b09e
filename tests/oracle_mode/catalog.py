"""The emulated server's data dictionary, type rules and SQL functions.

Columns keep their Oracle type text as SQLite's declared type, so ``ALL_TAB_COLUMNS`` (a
view over ``pragma_table_info``) answers as Oracle would, and each table gets triggers
that apply Oracle's rules to every row written: VARCHAR2 length in characters and bytes
(``ORA-12899``), NUMBER precision (``ORA-01438``), text into a NUMBER (``ORA-01722``) or a
timestamp not made by ``TO_TIMESTAMP_TZ`` / ``TO_DATE`` (``ORA-01861``).

Date-times are stored as ``YYYY-MM-DD HH:MM:SS.ffffff+00:00`` (UTC, so they compare as
text; the space tells them from a raw ISO string bound straight into the column, which
Oracle would refuse); :func:`fetch_text` turns them back into the tap's text for tests.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.oracle_mode.contract import oracle_error

ORACLE_TS_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM'
_TS_IN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}")
_TS_STORED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00:00")
_DATE_STORED = re.compile(r"\d{4}-\d{2}-\d{2} 00:00:00")
_VARCHAR = re.compile(r"N?VARCHAR2?\((\d+)(?: (CHAR|BYTE))?\)|N?CHAR\((\d+)(?: (CHAR|BYTE))?\)")
_NUMBER = re.compile(r"NUMBER(?:\((\d+)(?:,\s*(-?\d+))?\))?")
INTERNAL_PREFIX = "__ORA"


_SQLITE_ERRORS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    (re.compile(r"no such table: (?:\w+\.)?(.+)"), 942, "table or view does not exist"),
    (re.compile(r"no such column: (.+)"), 904, '"{0}": invalid identifier'),
    (re.compile(r"ambiguous column name: (.+)"), 918, "column ambiguously defined"),
    (re.compile(r"UNIQUE constraint failed: (.+)"), 1, "unique constraint ({0}) violated"),
    (re.compile(r"already exists"), 955, "name is already used by an existing object"),
    (re.compile(r"duplicate column name: (.+)"), 1430,
     "column being added already exists in table"),
)


@dataclass(frozen=True)
class OracleType:
    """What the data dictionary says of a declared type."""

    data_type: str
    data_length: int
    precision: int | None = None
    scale: int | None = None
    char_length: int = 0
    char_used: str | None = None


def parse_type(decl: str, max_string_bytes: int = 4000) -> OracleType:
    decl = " ".join(decl.upper().split())
    m = _VARCHAR.fullmatch(decl)
    if m:
        n = int(m.group(1) or m.group(3))
        sem = m.group(2) or m.group(4) or "BYTE"
        name = decl.split("(")[0]
        nbytes = min(n * 4, max_string_bytes) if sem == "CHAR" else n
        return OracleType(name, nbytes, char_length=n, char_used=sem[0])
    m = _NUMBER.fullmatch(decl)
    if m:
        p = int(m.group(1)) if m.group(1) else None
        s = int(m.group(2)) if m.group(2) else (0 if p is not None else None)
        return OracleType("NUMBER", 22, p, s)
    if decl.startswith("TIMESTAMP"):
        return OracleType(decl, 13, scale=6)
    if decl in {"DATE", "CLOB", "NCLOB", "BLOB", "FLOAT", "BINARY_DOUBLE", "LONG"}:
        return OracleType(decl, {"DATE": 7}.get(decl, 4000))
    raise ValueError(f"Oracle type not emulated: {decl}")


def max_bytes(decl: str, max_string_bytes: int) -> int:
    """Bytes a value of this type can take in an index key."""
    t = parse_type(decl, max_string_bytes)
    if t.char_used == "C":
        return min(t.char_length * 4, max_string_bytes)
    return t.data_length


# SQL functions ---------------------------------------------------------------------------
class Pending:
    """The Oracle error a SQL function raised (sqlite3 only reports that one was raised)."""

    error: Exception | None = None


def _ts_stored(value: dt.datetime) -> str:
    """UTC storage text; ``isoformat`` pads years below 1000 (``strftime("%Y")`` does not
    on Linux, and Oracle's years run from 1 to 9999)."""
    return value.isoformat(sep=" ", timespec="microseconds")


def _date_stored(value: dt.date) -> str:
    return f"{value.isoformat()[:10]} 00:00:00"


def to_timestamp_tz(pending: Pending) -> Callable[[Any, Any], Any]:
    def fn(text: Any, fmt: Any) -> Any:
        if text is None:
            return None
        if fmt != ORACLE_TS_FORMAT or not isinstance(text, str) or not _TS_IN.fullmatch(text):
            pending.error = oracle_error(1861, "literal does not match format string")
            raise ValueError("ORA-01861")
        return _ts_stored(dt.datetime.fromisoformat(text).astimezone(dt.UTC))
    return fn


def to_date(pending: Pending) -> Callable[[Any, Any], Any]:
    def fn(text: Any, fmt: Any) -> Any:
        if text is None:
            return None
        try:
            if fmt != "YYYY-MM-DD" or len(str(text)) != 10:
                raise ValueError(text)
            return _date_stored(dt.date.fromisoformat(str(text)))
        except ValueError:
            pending.error = oracle_error(1861, "literal does not match format string")
            raise
    return fn


def native_text(value: Any, decl: str) -> Any:
    """A Python datetime/date (direct path) in this emulator's storage form."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        if decl.upper().startswith("DATE"):
            return _date_stored(value)
        return _ts_stored(value.astimezone(dt.UTC))
    if isinstance(value, dt.date):
        return _date_stored(value)
    return value


def fetch_text(value: Any) -> Any:
    """Stored date-times back as the tap's text (what tests compare with)."""
    if isinstance(value, str):
        if _TS_STORED.fullmatch(value):
            return value.replace(" ", "T", 1)
        if _DATE_STORED.fullmatch(value):
            return value[:10]
    return value


def fetch_native(value: Any) -> Any:
    """A stored date-time as python-oracledb fetches it: a naive datetime (thin mode drops
    the zone of a TIMESTAMP WITH TIME ZONE; stored values are UTC)."""
    if isinstance(value, str):
        if _TS_STORED.fullmatch(value):
            return dt.datetime.fromisoformat(value).replace(tzinfo=None)
        if _DATE_STORED.fullmatch(value):
            return dt.datetime.fromisoformat(value)
    return value


def check_value(pending: Pending, max_string_bytes: int
                ) -> Callable[[Any, str, str, str, str], int]:
    """``ORA_CHECK(value, declared type, owner, table, column)``, called by row triggers."""

    def fail(code: int, text: str) -> int:
        pending.error = oracle_error(code, text)
        raise ValueError(text)

    def fn(value: Any, decl: str, owner: str, table: str, column: str) -> int:
        if value is None:
            return 1
        t = parse_type(decl, max_string_bytes)
        where = f'"{owner}"."{table}"."{column}"'
        if t.char_used:
            text = value if isinstance(value, str) else str(value)
            nbytes = len(text.encode())
            if t.char_used == "C" and len(text) > t.char_length:
                fail(12899, f"value too large for column {where} "
                            f"(actual: {len(text)}, maximum: {t.char_length})")
            limit = t.char_length if t.char_used == "B" else max_string_bytes
            if nbytes > limit:
                fail(12899, f"value too large for column {where} "
                            f"(actual: {nbytes}, maximum: {limit})")
        elif t.data_type == "NUMBER":
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    fail(1722, "invalid number")
            if t.precision is not None and isinstance(value, (int, float)):
                scale = t.scale or 0
                if abs(round(value, scale)) >= 10 ** (t.precision - scale):
                    fail(1438, "value larger than specified precision allowed for this "
                               "column")
        elif (t.data_type.startswith("TIMESTAMP") or t.data_type == "DATE") and not (
                isinstance(value, str)
                and (_TS_STORED.fullmatch(value) or _DATE_STORED.fullmatch(value))):
            fail(1861, "literal does not match format string")
        return 1

    return fn


def oracle_error_for(exc: sqlite3.Error, pending: Pending, owner: str) -> Exception:
    """The ORA- error Oracle gives where SQLite raised ``exc`` (or an emulator gap)."""
    from tests.oracle_mode.translate import EmulatorGap

    if pending.error is not None:
        return pending.error
    text = str(exc)
    if text.startswith("NOT NULL constraint failed: "):
        table, col = text.rsplit(" ", 1)[1].split(".", 1)
        return oracle_error(1400, f'cannot insert NULL into ("{owner}"."{table}"."{col}")')
    for pattern, code, message in _SQLITE_ERRORS:
        m = pattern.search(text)
        if m:
            return oracle_error(code, message.format(*m.groups()))
    return EmulatorGap(f"SQLite refused the translated statement: {text}")


def register(conn: sqlite3.Connection, pending: Pending, user: str,
             max_string_bytes: int) -> None:
    """SQL functions the target's statements (and the triggers) call; ``user`` logged in."""
    conn.create_function("TO_TIMESTAMP_TZ", 2, to_timestamp_tz(pending), deterministic=True)
    conn.create_function("TO_DATE", 2, to_date(pending), deterministic=True)
    conn.create_function("SYS_CONTEXT", 2, lambda ns, key: user if str(key).upper() in {
        "CURRENT_SCHEMA", "SESSION_USER", "CURRENT_USER"} else None)
    conn.create_function("NVL", 2, lambda a, b: b if a is None else a, deterministic=True)
    conn.create_function("ORA_CHECK", 5, check_value(pending, max_string_bytes))
    for spec, name in (("DATA_TYPE", "data_type"), ("DATA_LENGTH", "data_length"),
                       ("DATA_PRECISION", "precision"), ("DATA_SCALE", "scale"),
                       ("CHAR_LENGTH", "char_length"), ("CHAR_USED", "char_used")):
        conn.create_function(
            f"ORA_{spec}", 1,
            lambda decl, _n=name: getattr(parse_type(decl, max_string_bytes), _n),
            deterministic=True)


def check_triggers(conn: sqlite3.Connection, db: str, owner: str, table: str) -> None:
    """(Re)create the row triggers of ``table`` (in SQLite database ``db``) from its columns."""
    drop_triggers(conn, db, table)
    cols = conn.execute("SELECT name, type FROM pragma_table_info(?, ?)", (table, db)).fetchall()
    if not cols:
        return
    for op in ("INSERT", "UPDATE"):
        calls = ", ".join(
            f"ORA_CHECK(NEW.{_q(name)}, {_lit(decl)}, {_lit(owner)}, {_lit(table)}, "
            f"{_lit(name)})" for name, decl in cols)
        conn.execute(f"CREATE TRIGGER {_q(db)}.{_q(f'{INTERNAL_PREFIX}_{op[0]}_{table}')} "
                     f"BEFORE {op} ON {_q(table)} BEGIN SELECT {calls}; END")


def drop_triggers(conn: sqlite3.Connection, db: str, table: str) -> None:
    for op in ("I", "U"):
        conn.execute(f"DROP TRIGGER IF EXISTS {_q(db)}.{_q(f'{INTERNAL_PREFIX}_{op}_{table}')}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
