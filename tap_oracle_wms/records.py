"""Raw lgfapi record → flat Singer record, with every decision made once per schema.

A `RecordPlan` maps each raw field name to an action (keep, drop, timestamp, decimal,
foreign key). Unexpected raw names are resolved on first sight and remembered, so
the per-record loop is one dict lookup and one branch per field. Records leave
conformant with the stream schema by construction, which is why the stream can
skip the SDK's per-record conformance pass.

One bad value never ends the run nor drops its record: a date-time that is not one, or a
decimal that is not a finite number ("NaN", "Infinity"), goes out as sent, as text. The
target then quarantines the record with a reason (its column converter refuses the
date-time; its schema check refuses text where a number belongs), where it can be seen.
"""

from __future__ import annotations

import json
import math
import typing as t
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from tap_oracle_wms.schema import FK_SUFFIX, is_fk_name, is_link

KEEP, DROP, TIMESTAMP, DECIMAL, FK, JSON = range(6)

#: Called with a raw field name the schema lacks and its first value; returns the JSON
#: Schema properties to add (name -> schema), or None to drop the field.
NewField = t.Callable[[str, t.Any], dict[str, dict[str, t.Any]] | None]

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


def utc_or_as_sent(value: t.Any) -> t.Any:
    """`to_utc`, or the value untouched when it is not an instant (see the module's doc)."""
    try:
        return to_utc(value)
    except (ValueError, TypeError, OverflowError):
        return value


def is_utc_text(value: t.Any) -> bool:
    """True for the tap's own instant form (what `to_utc` returns), cheaply: a value sent
    as it came (not an instant) must not become a bookmark or a keyset position."""
    if not (
        value.__class__ is str
        and len(value) == _FIXED_LEN
        and value[10] == "T"
        and value.endswith(_UTC_SUFFIX)
    ):
        return False
    try:  # the shape alone passes "2025-13-45T99:00:00.000000+00:00" (to_utc's fast path)
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def utc_text(moment: datetime) -> str:
    """Same fixed form for an in-memory instant (bookmarks, run start)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def to_decimal(value: t.Any) -> t.Any:
    """Decimals may arrive as strings ("12.500"); keep their exact digits. "NaN",
    "Infinity" and other text that is no finite number stay text: a Singer stream has no
    number for them (the writer would fail on the whole run)."""
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else repr(value)
    if value.__class__ is Decimal and not value.is_finite():
        return str(value)
    return value


def is_sentinel_fk(value: t.Mapping[str, t.Any]) -> bool:
    """WMS's "no relation" FK: id 0, no url, and a placeholder key ("-----------", "*").

    Id 0 with a real url is a real row (e.g. `property_prompt_mode` 0) and is kept."""
    if value.get("id") != 0 or value.get("url"):
        return False
    key = value.get("key")
    return isinstance(key, str) and key != "" and set(key) <= {"-", "*"}


def new_field_schema(name: str, value: t.Any) -> dict[str, dict[str, t.Any]]:
    """Properties for a field describe lacks, from its first value: a FK object is an id and a
    `_key`; numbers and booleans keep their type; any other object or list is JSON text;
    everything else, strings included, loads as text (exact, never guessed into a number)."""
    if is_fk_name(name) or (isinstance(value, dict) and "id" in value and "key" in value):
        return {name: {"type": ["integer", "null"]}, name + FK_SUFFIX: {"type": ["string", "null"]}}
    if isinstance(value, bool):
        return {name: {"type": ["boolean", "null"]}}
    if isinstance(value, int):
        return {name: {"type": ["integer", "null"]}}
    if isinstance(value, (float, Decimal)):
        return {name: {"type": ["number", "null"]}}
    if isinstance(value, (dict, list)):
        return {name: {"type": ["string", "null"], "x-wms-json": True}}
    return {name: {"type": ["string", "null"]}}


class RecordPlan:
    """Flattening plan for one stream, built from its (effective) JSON Schema."""

    def __init__(
        self,
        properties: t.Mapping[str, t.Mapping[str, t.Any]],
        on_new_field: NewField | None = None,
        *,
        null_sentinels: bool = True,
    ) -> None:
        self.properties = dict(properties)
        self.on_new_field = on_new_field
        self.null_sentinels = null_sentinels
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
        self._jsons = False

    def _compile(self, raw: t.Mapping[str, t.Any]) -> None:
        actions = [
            (name, self._actions.get(name) or self._resolve(name, raw[name])) for name in raw
        ]
        self._shape = frozenset(name for name, _ in actions)
        self._drops = tuple(name for name, (kind, _) in actions if kind == DROP)
        self._timestamps = tuple(name for name, (kind, _) in actions if kind == TIMESTAMP)
        self._decimals = tuple(name for name, (kind, _) in actions if kind == DECIMAL)
        self._fks = tuple((name, key) for name, (kind, key) in actions if kind == FK)
        self._jsons = any(kind == JSON for _, (kind, _) in actions)

    def _resolve(self, name: str, value: t.Any = None) -> tuple[int, str | None]:
        props = self.properties
        key_name = name + FK_SUFFIX
        if not is_link(name) and name not in props and self.on_new_field is not None:
            added = self.on_new_field(name, value)  # a field describe lacks: load it
            if added:
                props.update(added)
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
            elif prop.get("x-wms-json"):
                action = (JSON, None)
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
        if raw.keys() != self._shape or self._jsons:
            return self.flatten_any(raw)
        for name in self._drops:
            del raw[name]
        for name in self._timestamps:
            value = raw[name]
            if value is not None:
                raw[name] = utc_or_as_sent(value)
        for name in self._decimals:
            value = raw[name]
            if value is not None and value.__class__ is not Decimal:
                raw[name] = to_decimal(value)
        null_sentinels = self.null_sentinels
        for name, key in self._fks:
            value = raw[name]
            if value.__class__ is dict:
                fk_id = value.get("id")
                if fk_id == 0 and null_sentinels and is_sentinel_fk(value):
                    raw[name] = None
                    if key:
                        raw[key] = None
                    continue
                raw[name] = fk_id
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
            action = actions.get(name) or self._resolve(name, value)
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
                out[name] = utc_or_as_sent(value)
            elif kind == DECIMAL:
                out[name] = to_decimal(value)
            elif kind == JSON:
                out[name] = value if isinstance(value, str) else json.dumps(value, default=str)
            elif isinstance(value, dict):  # FK as {id, key, url}
                none = self.null_sentinels and is_sentinel_fk(value)
                out[name] = None if none else value.get("id")
                if action[1]:
                    out[action[1]] = None if none else value.get("key")
            else:  # FK already given as a bare id
                out[name] = value
                if action[1]:
                    out.setdefault(action[1], None)
        return out

    def flatten_page(self, results: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
        flatten = self.flatten
        return [flatten(raw) for raw in results]
