"""Everything that differs between Oracle and the embedded SQLite, as SQL text.

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
from decimal import Decimal
from typing import Any

import msgspec

from target_oracle import types as T
from target_oracle.naming import needs_quotes_oracle

_json = msgspec.json.Encoder(decimal_format="number")
ORACLE_TS_FORMAT = "YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM"


@dataclass(frozen=True)
class Column:
    """A table column: database name, Singer property (None for target metadata), type."""

    name: str
    prop: str | None
    ctype: T.ColumnType


class RejectValue(ValueError):
    """A value this column cannot hold; the record is quarantined with this message."""


def _utc_text(value: Any) -> str:
    """Fixed-width UTC text; the tap's own format passes through untouched (fast path)."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
            if len(value) == 32 and value[10] == "T" and value.endswith("+00:00"):
                return value  # the tap's own format: checked, passed through untouched
        except ValueError as exc:
            raise RejectValue(f"not a date-time: {value!r}") from exc
    elif isinstance(value, dt.datetime):
        parsed = value
    else:
        raise RejectValue(f"not a date-time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _date_text(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as exc:
        raise RejectValue(f"not a date: {value!r}") from exc


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

    # identifiers -------------------------------------------------------------------
    def q(self, ident: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def table_ref(self, table: str, schema: str | None = None) -> str:
        return f"{self.q(schema)}.{self.q(table)}" if schema else self.q(table)

    # types -------------------------------------------------------------------------
    def sql_type(self, ctype: T.ColumnType) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def converter(self, col: Column) -> Callable[[Any], Any] | None:
        """Python value → bind value; None means pass through unchanged."""
        kind = col.ctype.kind
        if kind == T.TIMESTAMP:
            return _utc_text
        if kind == T.DATE:
            return _date_text
        if kind == T.BOOLEAN:
            return _bool
        if kind in {T.JSON, T.CLOB}:
            return _json_text
        if kind == T.STRING:
            return self._string_converter(col)
        if kind == T.NUMBER:
            return self._number_converter()
        return None

    def _string_converter(self, col: Column) -> Callable[[Any], Any] | None:
        return _json_text  # non-strings only reach mixed-type columns: store them as JSON

    def _number_converter(self) -> Callable[[Any], Any] | None:
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
        rejects: tuple[str, str, str] | None = None,
    ) -> str:
        """Mark (or remove) live rows absent from the snapshot and older than its start.

        ``rejects`` = (rejects table, its record_key column, its table_version column): rows
        whose record was rejected in this snapshot are not absent from WMS, only from the
        snapshot, and stay live. Their key is kept as JSON text (``[123]``), so this applies to
        single-column keys.
        """
        on = " AND ".join(f"s.{self.q(k)} = t.{self.q(k)}" for k in keys)
        absent = (
            f"NOT EXISTS (SELECT 1 FROM {snap} s WHERE {on} "
            f"AND s.{self.q(vcol)} = :snapshot_version)"
        )
        if rejects and len(keys) == 1:
            table, key_col, version_col = rejects
            absent += (
                f" AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.{self.q(version_col)} = "
                f":snapshot_version AND r.{self.q(key_col)} = '[' || t.{self.q(keys[0])} || ']')"
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


class OracleDialect(Dialect):
    """Oracle 19c+ in python-oracledb thin mode."""

    name = "oracle"
    upper = True

    def q(self, ident: str) -> str:
        return f'"{ident}"' if needs_quotes_oracle(ident) else ident

    def sql_type(self, ctype: T.ColumnType) -> str:
        return {
            T.INTEGER: "NUMBER(38)",
            T.NUMBER: "NUMBER",
            T.TIMESTAMP: "TIMESTAMP(6) WITH TIME ZONE",
            T.DATE: "DATE",
            T.BOOLEAN: "NUMBER(1)",
            T.JSON: "CLOB",
            T.CLOB: "CLOB",
        }.get(ctype.kind) or f"VARCHAR2({ctype.length or T.MAX_VARCHAR} CHAR)"

    def _string_converter(self, col: Column) -> Callable[[Any], Any]:
        limit = col.ctype.length or T.MAX_VARCHAR
        name = col.name

        def conv(value: Any) -> str:
            text = _json_text(value)
            if len(text) > limit or (len(text) > 1000 and len(text.encode()) > 4000):
                raise RejectValue(f"value too long for {name} (VARCHAR2({limit} CHAR))")
            return text

        return conv

    def _number_converter(self) -> Callable[[Any], Any]:
        def conv(value: Any) -> Any:
            return Decimal(value) if isinstance(value, str) else value

        return conv

    def ts_bind(self, name: str) -> str:
        return f"TO_TIMESTAMP_TZ(:{name}, '{ORACLE_TS_FORMAT}')"

    def bind(self, i: int, col: Column) -> str:
        if col.ctype.kind == T.TIMESTAMP:
            return f"TO_TIMESTAMP_TZ(:c{i}, '{ORACLE_TS_FORMAT}')"
        if col.ctype.kind == T.DATE:
            return f"TO_DATE(:c{i}, 'YYYY-MM-DD')"
        return f":c{i}"

    def input_sizes(self, columns: Sequence[Column]) -> list[Any]:
        """``Cursor.setinputsizes`` arguments so array DML never re-sizes its buffers."""
        import oracledb

        sizes: list[Any] = []
        for c in columns:
            kind = c.ctype.kind
            if kind in {T.INTEGER, T.NUMBER, T.BOOLEAN}:
                sizes.append(oracledb.DB_TYPE_NUMBER)
            elif kind in {T.CLOB, T.JSON}:
                sizes.append(oracledb.DB_TYPE_LONG)  # long strings into CLOB, no temp LOBs
            elif kind in {T.TIMESTAMP, T.DATE}:
                sizes.append(40)
            else:
                sizes.append(c.ctype.length or T.MAX_VARCHAR)
        return sizes

    def create_staging(self, table: str, columns: Sequence[Column]) -> str:
        cols = ", ".join(self.column_ddl(c) for c in columns)
        return f"CREATE GLOBAL TEMPORARY TABLE {table} ({cols}) ON COMMIT DELETE ROWS"

    def add_columns(self, table: str, columns: Sequence[Column]) -> list[str]:
        if not columns:
            return []
        return [f"ALTER TABLE {table} ADD ({', '.join(self.column_ddl(c) for c in columns)})"]

    def widen_column(self, table: str, col: Column, new: T.ColumnType) -> list[str]:
        if new.kind == T.STRING:
            return [f"ALTER TABLE {table} MODIFY ({self.q(col.name)} {self.sql_type(new)})"]
        # VARCHAR2 → CLOB cannot be MODIFYed (ORA-22858): add, copy, drop, rename.
        tmp = self.q(f"{col.name[:100]}__CLOB")
        name = self.q(col.name)
        return [
            f"ALTER TABLE {table} ADD ({tmp} CLOB)",
            f"UPDATE {table} SET {tmp} = {name}",
            f"ALTER TABLE {table} DROP COLUMN {name}",
            f"ALTER TABLE {table} RENAME COLUMN {tmp} TO {name}",
        ]

    def merge(
        self, live: str, source: str, columns: Sequence[Column], keys: Sequence[str],
        version: str | None, *, undelete_col: str | None = None,
    ) -> str:
        """One MERGE: insert new keys, update existing ones unless the stored row is newer."""
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in keys)
        names = [self.q(c.name) for c in columns]
        sets = [f"t.{n} = s.{n}" for c, n in zip(columns, names, strict=True)
                if c.name not in keys]
        cond = self.newer("s", "t", self.q(version) if version else None)
        if undelete_col:
            cond = f"({cond} OR t.{self.q(undelete_col)} IS NOT NULL)"
        sql = f"MERGE INTO {live} t USING {source} s ON ({on})"
        if sets:
            where = "" if cond == "1 = 1" else f" WHERE {cond}"
            sql += f" WHEN MATCHED THEN UPDATE SET {', '.join(sets)}{where}"
        values = ", ".join(f"s.{n}" for n in names)
        return sql + f" WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) VALUES ({values})"


class SQLiteDialect(Dialect):
    """Embedded SQLite (≥ 3.35: upsert, window functions, NULLS LAST, json_each)."""

    name = "sqlite"
    upper = False
    alias_kw = "AS "

    def q(self, ident: str) -> str:
        return '"' + ident.replace('"', '""') + '"'

    def sql_type(self, ctype: T.ColumnType) -> str:
        return "INTEGER" if ctype.kind in {T.INTEGER, T.BOOLEAN} else "TEXT"

    def _number_converter(self) -> Callable[[Any], Any]:
        def conv(value: Any) -> Any:
            return value if value is None else str(value)

        return conv

    def bind(self, i: int, col: Column) -> str:
        return "?"

    def add_columns(self, table: str, columns: Sequence[Column]) -> list[str]:
        return [f"ALTER TABLE {table} ADD COLUMN {self.column_ddl(c)}" for c in columns]

    def widen_column(self, table: str, col: Column, new: T.ColumnType) -> list[str]:
        return []  # TEXT has no length

    def upsert(
        self, live: str, columns: Sequence[Column], keys: Sequence[str],
        version: str | None, *, select: str | None = None, undelete_col: str | None = None,
    ) -> str:
        """``INSERT … ON CONFLICT DO UPDATE … WHERE`` newer — from binds or a SELECT."""
        names = [self.q(c.name) for c in columns]
        body = f"{select}" if select else (
            f"VALUES ({', '.join(self.bind(i, c) for i, c in enumerate(columns))})"
        )
        sql = f"INSERT INTO {live} AS t ({', '.join(names)}) {body}"
        sets = [f"{n} = excluded.{n}" for c, n in zip(columns, names, strict=True)
                if c.name not in keys]
        conflict = ", ".join(self.q(k) for k in keys)
        if not sets:
            return sql + f" ON CONFLICT ({conflict}) DO NOTHING"
        cond = self.newer("excluded", "t", self.q(version) if version else None)
        if undelete_col:
            cond = f"({cond} OR t.{self.q(undelete_col)} IS NOT NULL)"
        where = "" if cond == "1 = 1" else f" WHERE {cond}"
        return sql + f" ON CONFLICT ({conflict}) DO UPDATE SET {', '.join(sets)}{where}"

    @staticmethod
    def json_batch_source(keys: Sequence[str], version: str | None, q: Callable) -> str:
        """A batch's keys (and versions) as a derived table over one JSON bind."""
        names = [*keys, *([version] if version else [])]
        cols = ", ".join(
            f"json_extract(value, '$[{i}]') AS {q(n)}" for i, n in enumerate(names)
        )
        return f"(SELECT {cols} FROM json_each(:batch_keys))"


def dialect_for(url_drivername: str) -> Dialect:
    """Pick the dialect from a SQLAlchemy driver name."""
    if url_drivername.startswith("oracle"):
        return OracleDialect()
    if url_drivername.startswith("sqlite"):
        return SQLiteDialect()
    raise ValueError(f"unsupported database {url_drivername!r}: use oracle+oracledb or sqlite")


def describe_sql(dialect: Dialect) -> str:
    """Existing columns of one table, in column order: name, data type, char length."""
    if dialect.name == "oracle":
        return (
            "SELECT COLUMN_NAME, DATA_TYPE, CHAR_LENGTH FROM ALL_TAB_COLUMNS "
            "WHERE OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND TABLE_NAME = :table_name ORDER BY COLUMN_ID"
        )
    return "SELECT name, type, NULL FROM pragma_table_info(:table_name) ORDER BY cid"
