"""``<TABLE>_REJECTS``: records that failed the schema, a business rule or a column.

A rejected record is never dropped and never fatal on its own: it is written, with its
reason, in the same transaction as the batch it came with. The run fails only at the
end, after everything else is loaded, when the total exceeds ``max_rejects``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from target_oracle import types as T
from target_oracle.audit import run_id, utc_now_text
from target_oracle.dialects import Column, Dialect

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


def reject_columns(dialect: Dialect) -> list[Column]:
    """The rejects table's columns named for ``dialect``."""
    return [Column(n.upper() if dialect.upper else n, n, c) for n, c in REJECT_COLUMNS]


def _text(value: Any) -> str:
    try:
        return _encoder.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return repr(value)


@dataclass
class RejectBuffer:
    """Rejects of one stream waiting for the next batch commit."""

    stream: str
    key_properties: Sequence[str]
    rows: list[tuple] = field(default_factory=list)

    def add(self, record: dict, reason: str, table_version: int | None = None) -> None:
        key = _text([record.get(k) for k in self.key_properties]) if self.key_properties else ""
        self.rows.append((self.stream, key[:4000], _text(record), reason[:4000], utc_now_text(),
                          run_id(), table_version))

    def take(self) -> list[tuple]:
        rows, self.rows = self.rows, []
        return rows
