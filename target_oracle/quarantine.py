"""``<TABLE>_REJECTS``: records that failed the schema, a business rule or a column.

A rejected record is never dropped and never fatal on its own: it is written, with its
reason, in the same transaction as the batch it came with. The run fails only at the
end, after everything else is loaded, when the total exceeds ``max_rejects``.

Besides the human-readable ``record_key`` (JSON), the key is kept converted exactly like the
live table's key, in typed columns ``KEY_1`` … ``KEY_n`` of the key columns' types: a publish
joins on them to spare the live rows of records rejected in its snapshot. A JSON-text match
only ever worked for integer keys sent as integers (``["A"]`` ≠ ``'[' || 'A' || ']'``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from target_oracle import types as T
from target_oracle.audit import run_id, utc_now_text
from target_oracle.dialects import Column, Dialect, RejectValue
from target_oracle.stdin import has_lone_surrogate

_encoder = msgspec.json.Encoder(decimal_format="number")

REJECT_COLUMNS: tuple[tuple[str, T.ColumnType], ...] = (
    ("stream", T.ColumnType(T.STRING, 128)),
    ("record_key", T.ColumnType(T.STRING, 4000)),
    ("record_json", T.ColumnType(T.CLOB)),
    ("reason", T.ColumnType(T.STRING, 4000)),
    ("rejected_at", T.ColumnType(T.TIMESTAMP)),
    ("run_id", T.ColumnType(T.STRING, 64)),
    # The full-sync snapshot the record belonged to: its publish must not soft-delete the row.
    ("table_version", T.ColumnType(T.INTEGER)),
)


class TooManyRejects(RuntimeError):
    """Raised at end of input when rejects exceed ``max_rejects``."""


def reject_columns(dialect: Dialect, key_columns: Sequence[Column] = ()) -> list[Column]:
    """The rejects table's columns named for ``dialect``, then one typed column per key
    column (``KEY_1`` …, same type as the live key column)."""
    fixed = [Column(n.upper() if dialect.upper else n, n, c) for n, c in REJECT_COLUMNS]
    keys = [Column(f"KEY_{i}" if dialect.upper else f"key_{i}", None, c.ctype)
            for i, c in enumerate(key_columns, 1)]
    return [*fixed, *keys]


def key_converter(dialect: Dialect, col: Column) -> Callable[[Any], Any]:
    """A rejected record's key value → the value the live key column would hold, or None
    when it cannot be one (then no live row has that key, and nothing needs sparing).

    Text that reads as a number is taken as one for numeric keys: a key sent as ``"123"``
    is rejected by the schema, yet it is row 123 in WMS.
    """
    conv = dialect.converter(col)
    kind = col.ctype.kind

    def convert(value: Any) -> Any:
        if value is None or has_lone_surrogate(value):  # no live row has such a key
            return None
        try:
            if isinstance(value, str) and kind == T.INTEGER:
                value = int(value)
            elif isinstance(value, str) and kind == T.NUMBER:
                value = Decimal(value)
                if not value.is_finite():
                    return None
            return conv(value) if conv is not None else value
        except (ValueError, ArithmeticError, TypeError, RejectValue):
            return None

    return convert


#: ``record_key`` and ``reason`` are VARCHAR2(4000 CHAR): at most 4,000 *bytes* where
#: MAX_STRING_SIZE is STANDARD (ORA-12899 otherwise, which would roll back the batch).
TEXT_MAX_BYTES = 4000


def cut_bytes(text: str, limit: int = TEXT_MAX_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    if len(text) * 4 <= limit:
        return text
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def _text(value: Any) -> str:
    """JSON text of a record or key. A text msgspec cannot encode (a lone surrogate) is
    written by ``json`` as its ``\\udXXX`` escape, so the record is kept as it was sent."""
    try:
        return _encoder.encode(value).decode()
    except (TypeError, msgspec.EncodeError, UnicodeEncodeError):
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            return repr(value)


@dataclass
class RejectBuffer:
    """Rejects of one stream waiting for the next batch commit."""

    stream: str
    key_properties: Sequence[str]
    rows: list[tuple] = field(default_factory=list)
    #: One per key property (same order), set once the live table's columns are known.
    key_converters: Sequence[Callable[[Any], Any]] = ()

    def add(self, record: dict, reason: str, table_version: int | None = None) -> None:
        raw = [record.get(k) for k in self.key_properties]
        key = _text(raw) if self.key_properties else ""
        typed = tuple(conv(v) for conv, v in zip(self.key_converters, raw, strict=False))
        self.rows.append((self.stream, cut_bytes(key), _text(record), cut_bytes(reason),
                          utc_now_text(),
                          run_id(), table_version, *typed))

    def take(self) -> list[tuple]:
        rows, self.rows = self.rows, []
        return rows
