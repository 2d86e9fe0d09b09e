"""Oracle 19c+ (Autonomous Database too), python-oracledb thin mode.

MERGE for upserts and publishes, array DML, date-times bound as text for TO_TIMESTAMP_TZ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from target_oracle import fastcheck
from target_oracle import types as T
from target_oracle.dialects.base import (
    ORACLE_TS_FORMAT,
    Batched,
    Column,
    Dialect,
)
from target_oracle.naming import needs_quotes_oracle

#: A VARCHAR2 column moving to CLOB is copied into ``<name>__CLOB`` first.
CLOB_MOVE_SUFFIX = "__CLOB"
#: Rows copied per transaction while moving a column to CLOB.
CLOB_COPY_BATCH = 10_000


class OracleDialect(Dialect):
    """Oracle 19c+ in python-oracledb thin mode."""

    name = "oracle"
    upper = True
    empty_string_is_null = True

    def q(self, ident: str) -> str:
        return f'"{ident}"' if needs_quotes_oracle(ident) else ident

    def sql_type(self, ctype: T.ColumnType) -> str:
        if ctype.kind == T.INTEGER and ctype.length:
            return f"NUMBER({ctype.length})"
        return {
            T.INTEGER: "NUMBER(38)",
            T.NUMBER: "NUMBER",
            T.TIMESTAMP: "TIMESTAMP(6) WITH TIME ZONE",
            T.DATE: "DATE",
            T.BOOLEAN: "NUMBER(1)",
            T.JSON: "CLOB",
            T.CLOB: "CLOB",
        }.get(ctype.kind) or f"VARCHAR2({ctype.length or T.MAX_VARCHAR} CHAR)"

    def read_type(self, data_type: str, char_length: int | None, precision: int | None,
                  scale: int | None) -> T.ColumnType:
        """``ALL_TAB_COLUMNS`` → column type: NUMBER(p) (scale 0) is an integer of ``p``
        digits (NUMBER(38) ours, NUMBER(1) our booleans), any other NUMBER/FLOAT a number,
        every TIMESTAMP a date-time. Other types (RAW, BLOB, …) keep their own name."""
        dtype = (data_type or "").upper()
        if dtype == "NUMBER" and scale == 0:
            return T.ColumnType(T.INTEGER, int(precision or 38))
        if dtype in {"NUMBER", "FLOAT", "BINARY_DOUBLE", "BINARY_FLOAT"}:
            return T.ColumnType(T.NUMBER)
        if dtype.startswith("TIMESTAMP"):
            return T.ColumnType(T.TIMESTAMP)
        if dtype == "DATE":
            return T.ColumnType(T.DATE)
        return super().read_type(data_type, char_length, precision, scale)

    def effective_type(self, have: T.ColumnType, wanted: T.ColumnType) -> T.ColumnType:
        """The existing column decides: a value is converted for the type the column *has*
        (a drifted schema's values that fit load, the rest is quarantined) — unless both
        render the same Oracle type, when the schema's kind (BOOLEAN vs NUMBER(1), JSON vs
        CLOB) says how to convert. Unknown column types are left to the server."""
        known = {T.INTEGER, T.NUMBER, T.STRING, T.CLOB, T.TIMESTAMP, T.DATE}
        if have.kind not in known or self.sql_type(have) == self.sql_type(wanted):
            return wanted
        return have

    def converter(self, col: Column) -> Callable[[Any], Any] | None:
        """As the base, plus range checks: NUMBER(38) and NUMBER hold less than Python."""
        if col.ctype.kind == T.INTEGER:
            return fastcheck.oracle_integer_check(col.name, col.ctype.length or 38)
        if col.ctype.kind == T.NUMBER:
            return fastcheck.oracle_number_check(col.name)
        return super().converter(col)

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
        # VARCHAR2 → CLOB cannot be MODIFYed (ORA-22858): add, copy, set unused, rename.
        tmp = f"{col.name[:100]}{CLOB_MOVE_SUFFIX}"
        return [f"ALTER TABLE {table} ADD ({self.q(tmp)} CLOB)",
                *self._finish_clob_move(table, col.name, tmp)]

    def _finish_clob_move(self, table: str, name: str, tmp: str) -> list[str]:
        """Copy in batches (each commits: bounded undo), then ``SET UNUSED`` — instant, no
        table rewrite, unlike DROP COLUMN — and rename. Every step can be re-run."""
        old, new = self.q(name), self.q(tmp)
        return [
            Batched(f"UPDATE {table} SET {new} = {old} WHERE {new} IS NULL AND {old} IS NOT "
                    f"NULL AND ROWNUM <= {CLOB_COPY_BATCH}"),
            f"ALTER TABLE {table} SET UNUSED ({old})",
            f"ALTER TABLE {table} RENAME COLUMN {new} TO {old}",
        ]

    def resume_clob_moves(
        self, table: str, existing: dict[str, T.ColumnType], columns: Sequence[Column],
    ) -> tuple[list[str], dict[str, T.ColumnType]]:
        """Finish a VARCHAR2 → CLOB move an interruption left half done (each DDL commits).

        A CLOB column ``<X>__CLOB`` that no property asks for is such a leftover. If ``X``
        is still there the copy resumes (rows not yet copied); if it is gone (set unused) the
        copy was complete and only the rename is left. This runs before anything is loaded,
        whatever the current schema, so no row of ``X`` changes between copy and switch.
        """
        wanted = {c.name for c in columns}
        statements: list[str] = []
        now = dict(existing)
        for tmp, ctype in existing.items():
            if not tmp.endswith(CLOB_MOVE_SUFFIX) or ctype.kind != T.CLOB or tmp in wanted:
                continue
            stem = tmp[: -len(CLOB_MOVE_SUFFIX)]
            names = [n for n in (*existing, *wanted) if n != tmp and n[:100] == stem]
            name = names[0] if names else (stem if len(stem) < 100 else None)
            if name is None:
                continue  # a cut name no column matches any more: nothing safe to do
            if name in existing:
                statements += self._finish_clob_move(table, name, tmp)
            else:
                statements.append(f"ALTER TABLE {table} RENAME COLUMN {self.q(tmp)} "
                                  f"TO {self.q(name)}")
            del now[tmp]
            now[name] = T.ColumnType(T.CLOB)
        return statements, now

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
