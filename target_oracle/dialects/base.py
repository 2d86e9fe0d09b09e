"""What Oracle and the embedded SQLite share, and how each stores what it loads.

Statements are plain text (SQLAlchemy has no MERGE construct and its generic DDL is what
Oracle rejects), built from already-conformed identifiers; the tests compile each kind
for the Oracle dialect, compare golden text and parse it with sqlglot ``read="oracle"``.

Storage choices:

* Oracle: ``NUMBER(38)`` / ``NUMBER`` / ``VARCHAR2(n CHAR)`` / ``CLOB`` /
  ``TIMESTAMP(6) WITH TIME ZONE`` / ``DATE`` / ``NUMBER(1)``; date-times are bound as the
  tap's fixed-width text and converted by ``TO_TIMESTAMP_TZ`` on the server, so no
  driver time-zone guessing is involved.
* SQLite: decimals are stored as **TEXT with their exact digits** (``12.500`` stays
  ``12.500``; SQLite's NUMERIC affinity would turn it into the float 12.5), date-times as
  the fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (comparable as text),
  booleans as 0/1, objects/arrays as JSON text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from target_oracle import types as T
from target_oracle.reasons import show

_json = msgspec.json.Encoder(decimal_format="number")
ORACLE_TS_FORMAT = "YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM"


@dataclass(frozen=True)
class Column:
    """A table column: database name, Singer property (None for target metadata), type."""

    name: str
    prop: str | None
    ctype: T.ColumnType


class Batched(str):
    """A statement run again and again, each run its own transaction, until it changes no
    row: a table-wide change in bounded pieces (bounded undo, short row locks)."""


class RejectValue(ValueError):
    """A value this column cannot hold; the record is quarantined with this message."""


_parse_datetime = dt.datetime.fromisoformat


def _utc_text(value: Any) -> str:
    """Fixed-width UTC text of any ISO 8601 date-time (or ``datetime``)."""
    if isinstance(value, str):
        parsed = _parse_datetime(value)
    elif isinstance(value, dt.datetime):
        parsed = value
    else:
        raise TypeError(type(value).__name__)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _date_text(value: Any) -> str:
    """``YYYY-MM-DD``; a date-time is taken for its date only when it is a valid one (a
    date followed by anything else is not a date)."""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    text = str(value)
    if len(text) > 10:
        dt.datetime.fromisoformat(text)
    return dt.date.fromisoformat(text[:10]).isoformat()


def timestamp_converter(name: str) -> Callable[[Any], str]:
    """Date-time column ``name``: what is not a date-time is quarantined, naming both."""
    def conv(value: Any) -> str:
        try:
            if value.__class__ is str and len(value) == 32 and value[10] == "T" \
                    and value[26:] == "+00:00":  # the tap's own format: checked, kept as is
                _parse_datetime(value)
                return value
            return _utc_text(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise RejectValue(f"not a date-time for {name}: {show(value)}") from exc

    return conv


def date_converter(name: str) -> Callable[[Any], str]:
    """Date column ``name``: what is not a date is quarantined, naming both."""
    def conv(value: Any) -> str:
        try:
            return _date_text(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise RejectValue(f"not a date for {name}: {show(value)}") from exc

    return conv


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else _json.encode(value).decode()


def _bool(value: Any) -> int:
    return 1 if value else 0


class Dialect:
    """Base: SQL shared by both databases; subclasses fill in the differences."""

    name = "base"
    upper = True
    alias_kw = ""  # Oracle rejects ``AS`` before a table alias; SQLite's UPDATE needs it
    max_ident_bytes = 128
    #: Oracle stores ``''`` as NULL: such a key can never be matched or inserted.
    empty_string_is_null = False
    #: Bytes a VARCHAR2 holds: 4,000, or 32,767 where MAX_STRING_SIZE = EXTENDED.
    max_string_bytes = 4000

    # identifiers -------------------------------------------------------------------
    def q(self, ident: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def table_ref(self, table: str, schema: str | None = None) -> str:
        return f"{self.q(schema)}.{self.q(table)}" if schema else self.q(table)

    # types -------------------------------------------------------------------------
    def sql_type(self, ctype: T.ColumnType) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def read_type(self, data_type: str, char_length: int | None, precision: int | None,
                  scale: int | None) -> T.ColumnType:
        """An existing column's type, as far as widening needs to know."""
        dtype = (data_type or "").upper()
        if dtype in {"CLOB", "NCLOB"}:
            return T.ColumnType(T.CLOB)
        if "CHAR" in dtype:
            return T.ColumnType(T.STRING, int(char_length or T.MAX_VARCHAR))
        return T.ColumnType(dtype.lower() or T.STRING)

    def effective_type(self, have: T.ColumnType, wanted: T.ColumnType) -> T.ColumnType:
        """The type values of a ``wanted`` property are converted for, in a column that
        exists as ``have`` (after any widening): text keeps the column's length; every other
        column is dynamically typed here (SQLite), so the schema's kind decides."""
        if have.kind in {T.STRING, T.CLOB} and wanted.kind == T.STRING:
            return have
        return wanted

    def converter(self, col: Column) -> Callable[[Any], Any] | None:
        """Python value → bind value; None means pass through unchanged."""
        kind = col.ctype.kind
        if kind == T.TIMESTAMP:
            return timestamp_converter(col.name)
        if kind == T.DATE:
            return date_converter(col.name)
        if kind == T.BOOLEAN:
            return _bool
        if kind in {T.JSON, T.CLOB}:
            return _json_text
        if kind == T.STRING:
            return self._string_converter(col)
        if kind == T.NUMBER:
            return self._number_converter(col)
        return None

    def _string_converter(self, col: Column) -> Callable[[Any], Any]:
        """Text (non-strings only reach mixed-type columns: stored as JSON) that fits
        ``VARCHAR2(n CHAR)`` in characters *and* in bytes; what does not is quarantined —
        on SQLite too, so the dev warehouse refuses what Oracle would."""
        limit = col.ctype.length or T.MAX_VARCHAR
        name = col.name
        max_bytes = self.max_string_bytes  # the column's byte limit, whatever its CHAR length
        safe = max_bytes // 4  # up to this many characters always fit (UTF-8: ≤ 4 bytes each)

        def conv(value: Any) -> str:
            text = value if value.__class__ is str else _json_text(value)
            if len(text) > limit or (len(text) > safe
                                     and len(text.encode("utf-8", "surrogatepass")) > max_bytes):
                raise RejectValue(f"value too long for {name} (VARCHAR2({limit} CHAR), "
                                  f"at most {max_bytes} bytes): {show(text)}")
            return text

        return conv

    def _number_converter(self, col: Column) -> Callable[[Any], Any] | None:
        return None

    def bind(self, i: int, col: Column) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def ts_bind(self, name: str) -> str:
        """A named bind holding fixed-width UTC text, as a timestamp for this database."""
        return f":{name}"

    # DDL ---------------------------------------------------------------------------
    def column_ddl(self, col: Column, *, not_null: bool = False) -> str:
        return f"{self.q(col.name)} {self.sql_type(col.ctype)}" + (
            " NOT NULL" if not_null else ""
        )

    def create_table(
        self, table: str, columns: Sequence[Column], keys: Sequence[str], pk_name: str
    ) -> str:
        parts = [self.column_ddl(c, not_null=c.name in keys) for c in columns]
        if keys:
            keylist = ", ".join(self.q(k) for k in keys)
            parts.append(f"CONSTRAINT {self.q(pk_name)} PRIMARY KEY ({keylist})")
        return f"CREATE TABLE {table} ({', '.join(parts)})"

    def add_columns(self, table: str, columns: Sequence[Column]) -> list[str]:
        raise NotImplementedError  # pragma: no cover

    def widen_column(self, table: str, col: Column, new: T.ColumnType) -> list[str]:
        raise NotImplementedError  # pragma: no cover

    def resume_clob_moves(
        self, table: str, existing: dict[str, T.ColumnType], columns: Sequence[Column],
    ) -> tuple[list[str], dict[str, T.ColumnType]]:
        """Statements finishing interrupted column moves, and the columns once they ran."""
        return [], existing

    # DML ---------------------------------------------------------------------------
    def insert(self, table: str, columns: Sequence[Column], hint: str = "") -> str:
        names = ", ".join(self.q(c.name) for c in columns)
        binds = ", ".join(self.bind(i, c) for i, c in enumerate(columns))
        return f"INSERT {hint}INTO {table} ({names}) VALUES ({binds})"

    @staticmethod
    def newer(src: str, dst: str, version: str | None) -> str:
        """Condition under which the source row may overwrite the stored one."""
        if version is None:
            return "1 = 1"
        return f"({dst}.{version} IS NULL OR {src}.{version} >= {dst}.{version})"

    def dedup_snapshot(
        self, snap: str, columns: Sequence[Column], version: str | None, vcol: str,
        seqcol: str, keys: Sequence[str],
    ) -> str:
        """One row per key from a snapshot: greatest version, then last appended."""
        names = ", ".join(self.q(c.name) for c in columns)
        order = (f"{self.q(version)} DESC NULLS LAST, " if version else "") + (
            f"{self.q(seqcol)} DESC"
        )
        part = ", ".join(self.q(k) for k in keys)
        return (
            f"SELECT {names} FROM (SELECT {names}, ROW_NUMBER() OVER "
            f"(PARTITION BY {part} ORDER BY {order}) AS RN__ FROM {snap} "
            f"WHERE {self.q(vcol)} = :snapshot_version) WHERE RN__ = 1"
        )

    def count_changes(
        self, source: str, live: str, keys: Sequence[str], version: str | None
    ) -> str:
        """``inserted, updated, unchanged`` of a merge of ``source`` into ``live``.

        A row whose version equals the stored one is still written (the merge rule is ``>=``)
        but counted as unchanged: a re-read of the lookback overlap, or a second full sync of the
        same data, must not show up in the audit and the reconciliation as changes.
        """
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in keys)
        probe = f"t.{self.q(keys[0])}"
        cond = (
            f"(t.{self.q(version)} IS NULL OR s.{self.q(version)} > t.{self.q(version)})"
            if version
            else "1 = 1"
        )
        return (
            f"COALESCE(SUM(CASE WHEN {probe} IS NULL THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {probe} IS NOT NULL AND {cond} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {probe} IS NULL THEN 0 WHEN {cond} THEN 0 ELSE 1 END), 0) "
            f"FROM {source} s LEFT JOIN {live} t ON {on}"
        )

    def soft_delete(
        self, live: str, snap: str, keys: Sequence[str], version: str | None,
        deleted_col: str, vcol: str, *, hard: bool,
        rejects: tuple[str, str, Sequence[str]] | None = None,
    ) -> str:
        """Mark (or remove) live rows absent from the snapshot and older than its start.

        ``rejects`` = (rejects table, its table_version column, its typed key columns in key
        order): rows whose record was rejected in this snapshot are not absent from WMS, only
        from the snapshot, and stay live. The typed key columns hold the key converted like
        the live key, so the join is an equality of like types (any key type, any width).
        """
        on = " AND ".join(f"s.{self.q(k)} = t.{self.q(k)}" for k in keys)
        absent = (
            f"NOT EXISTS (SELECT 1 FROM {snap} s WHERE {on} "
            f"AND s.{self.q(vcol)} = :snapshot_version)"
        )
        if rejects and len(rejects[2]) == len(keys):
            table, version_col, key_cols = rejects
            match = " AND ".join(f"r.{self.q(rk)} = t.{self.q(k)}"
                                 for rk, k in zip(key_cols, keys, strict=True))
            absent += (
                f" AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.{self.q(version_col)} = "
                f":snapshot_version AND {match})"
            )
        older = (
            f" AND (t.{self.q(version)} IS NULL OR t.{self.q(version)} < "
            f"{self.ts_bind('snapshot_start')})"
            if version
            else ""
        )
        if hard:
            return f"DELETE FROM {live} {self.alias_kw}t WHERE {absent}{older}"
        dcol = self.q(deleted_col)
        return (
            f"UPDATE {live} {self.alias_kw}t SET {dcol} = {self.ts_bind('deleted_at')} "
            f"WHERE t.{dcol} IS NULL AND {absent}{older}"
        )
