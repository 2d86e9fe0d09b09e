"""The embedded SQLite default.

INSERT .. ON CONFLICT .. WHERE for the newer-wins rule; exact decimals kept as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from target_oracle import fastcheck
from target_oracle import types as T
from target_oracle.dialects.base import Column, Dialect

_FAST_INT = 10**38


class SQLiteDialect(Dialect):
    """Embedded SQLite (≥ 3.35: upsert, window functions, NULLS LAST, json_each)."""

    name = "sqlite"
    upper = False
    alias_kw = "AS "

    def q(self, ident: str) -> str:
        return '"' + ident.replace('"', '""') + '"'

    def sql_type(self, ctype: T.ColumnType) -> str:
        return "INTEGER" if ctype.kind in {T.INTEGER, T.BOOLEAN} else "TEXT"

    def effective_type(self, have: T.ColumnType, wanted: T.ColumnType) -> T.ColumnType:
        """An existing INTEGER column keeps converting integers, whatever the schema says
        now: its affinity would turn ``3.5`` or a 20-digit number into a (rounded) REAL."""
        if have.kind == T.INTEGER and wanted.kind not in {T.INTEGER, T.BOOLEAN}:
            return have
        return super().effective_type(have, wanted)

    def converter(self, col: Column) -> Callable[[Any], Any] | None:
        """As the base, plus Oracle's refusals: the dev warehouse quarantines what Oracle
        would, and what SQLite's own INTEGER cannot hold exactly."""
        if col.ctype.kind == T.INTEGER:
            return fastcheck.sqlite_integer_check(col.name)
        return super().converter(col)

    def _number_converter(self, col: Column) -> Callable[[Any], Any]:
        """Exact digits as text, for numbers Oracle's NUMBER holds (else quarantined).

        Fast path: a decimal or integer whose text has at most 40 characters and no exponent
        has at most 40 digits and a magnitude well inside NUMBER's range.
        """
        check = fastcheck.oracle_number_check(col.name)
        digits = frozenset("0123456789")
        max_chars = fastcheck.NUMBER_MAX_DIGITS

        def conv(value: Any) -> str:
            if value.__class__ is Decimal:
                text = str(value)
                if len(text) <= max_chars and text[-1] in digits and "E" not in text:
                    return text
            elif value.__class__ is int and -_FAST_INT < value < _FAST_INT:
                return str(value)
            checked = check(value)  # a decimal keeps its own digits (12.500 stays 12.500)
            return str(value if value.__class__ is Decimal else checked)

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
