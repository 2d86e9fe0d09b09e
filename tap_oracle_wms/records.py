"""Raw lgfapi record → flat Singer record, with every decision made once per schema.

A `RecordPlan` maps each raw field name to an action (keep, drop, timestamp, decimal,
foreign key). Unexpected raw names are resolved on first sight and remembered, so
the per-record loop is one dict lookup and one branch per field. Records leave
conformant with the stream schema by construction, which is why the stream can
skip the SDK's per-record conformance pass.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from tap_oracle_wms.schema import FK_SUFFIX, is_fk_name, is_link

KEEP, DROP, TIMESTAMP, DECIMAL, FK = range(5)

_UTC_SUFFIX = "+00:00"
_FIXED_LEN = len("2025-05-31T19:57:42.738709+00:00")


def to_utc(value: str) -> str:
    """Any ISO-8601 instant → `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (fixed width, so text
    comparison is instant comparison). Naive values are taken as UTC."""
    if len(value) == _FIXED_LEN and value.endswith(_UTC_SUFFIX) and value[10] == "T":
        return value
    parsed = datetime.fromisoformat(value)
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed.isoformat(timespec="microseconds")


def utc_text(moment: datetime) -> str:
    """Same fixed form for an in-memory instant (bookmarks, run start)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def to_decimal(value: t.Any) -> t.Any:
    """Decimals may arrive as strings ("12.500"); keep their exact digits."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class RecordPlan:
    """Flattening plan for one stream, built from its (effective) JSON Schema."""

    def __init__(self, properties: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
        self.properties = properties
        self._actions: dict[str, tuple[int, str | None]] = {}
        for name in properties:
            self._resolve(name)
        # Fast path, compiled from the first record's field set: records of one entity
        # share their shape, so only the few fields needing work are touched, in place.
        self._shape: t.AbstractSet[str] | None = None
        self._drops: tuple[str, ...] = ()
        self._timestamps: tuple[str, ...] = ()
        self._decimals: tuple[str, ...] = ()
        self._fks: tuple[tuple[str, str | None], ...] = ()

    def _compile(self, names: t.Iterable[str]) -> None:
        actions = [(name, self._actions.get(name) or self._resolve(name)) for name in names]
        self._shape = frozenset(name for name, _ in actions)
        self._drops = tuple(name for name, (kind, _) in actions if kind == DROP)
        self._timestamps = tuple(name for name, (kind, _) in actions if kind == TIMESTAMP)
        self._decimals = tuple(name for name, (kind, _) in actions if kind == DECIMAL)
        self._fks = tuple((name, key) for name, (kind, key) in actions if kind == FK)

    def _resolve(self, name: str) -> tuple[int, str | None]:
        props = self.properties
        key_name = name + FK_SUFFIX
        if is_link(name) or name not in props:
            action: tuple[int, str | None] = (DROP, None)
        elif is_fk_name(name) or key_name in props:
            action = (FK, key_name if key_name in props else None)
        else:
            prop = props[name]
            types = prop.get("type", [])
            fmt = prop.get("format")
            if fmt == "date-time":
                action = (TIMESTAMP, None)
            elif "number" in types and "integer" not in types:
                action = (DECIMAL, None)
            else:
                action = (KEEP, None)
        self._actions[name] = action
        return action

    def flatten(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        """Flatten a freshly parsed record (reused in place when it has the usual shape)."""
        if self._shape is None:
            self._compile(raw)
        if raw.keys() != self._shape:
            return self.flatten_any(raw)
        for name in self._drops:
            del raw[name]
        for name in self._timestamps:
            value = raw[name]
            if value is not None:
                raw[name] = to_utc(value)
        for name in self._decimals:
            value = raw[name]
            if value is not None and value.__class__ is not Decimal:
                raw[name] = to_decimal(value)
        for name, key in self._fks:
            value = raw[name]
            if value.__class__ is dict:
                raw[name] = value.get("id")
                if key:
                    raw[key] = value.get("key")
            elif key:
                raw[key] = None
        return raw

    def flatten_any(self, raw: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """General path for records of unexpected shape; builds a new dict."""
        out: dict[str, t.Any] = {}
        actions = self._actions
        for name, value in raw.items():
            action = actions.get(name) or self._resolve(name)
            kind = action[0]
            if kind == KEEP:
                out[name] = value
            elif kind == DROP:
                continue
            elif value is None:
                out[name] = None
                if kind == FK and action[1]:
                    out[action[1]] = None
            elif kind == TIMESTAMP:
                out[name] = to_utc(value)
            elif kind == DECIMAL:
                out[name] = to_decimal(value)
            elif isinstance(value, dict):  # FK as {id, key, url}
                out[name] = value.get("id")
                if action[1]:
                    out[action[1]] = value.get("key")
            else:  # FK already given as a bare id
                out[name] = value
                if action[1]:
                    out.setdefault(action[1], None)
        return out

    def flatten_page(self, results: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
        flatten = self.flatten
        return [flatten(raw) for raw in results]
