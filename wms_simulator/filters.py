"""lgfapi filter syntax: ``field[__relation...][__lookup][!]=value``, parsed and evaluated.

Values are parsed once per request into the field's type, so a bad value fails fast with 400
and comparisons per record stay cheap. Date-times compare as instants (offsets differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from wms_simulator.generate import DEFAULT_OFFSET_MIN
from wms_simulator.model import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    FK,
    INTEGER,
    STATUS,
    Entity,
    Field,
)

COMPARE = ("gt", "gte", "lt", "lte")
TEXTUAL = (
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
)
PARTS = ("year", "month", "day", "hour", "minute", "week_day")
LOOKUPS = frozenset((*COMPARE, *TEXTUAL, *PARTS, "isnull", "in", "range"))
CONTROL = frozenset(
    ("page", "page_size", "page_mode", "ordering", "fields", "cursor", "format", "values_list")
)
DEFAULT_TZ = timezone(timedelta(minutes=DEFAULT_OFFSET_MIN))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FilterError(ValueError):
    """A filter the API would reject with 400."""


Resolver = Callable[[str, int], "dict[str, Any] | None"]


@dataclass
class Cond:
    field: str  # top-level field name
    path: tuple[str, ...]  # relation hops after the FK field (e.g. ("code",))
    kind: str  # kind of the compared (leaf) field
    lookup: str
    value: Any
    negate: bool
    targets: tuple[str, ...] = ()  # entity resolved at each relation hop

    @property
    def direct(self) -> bool:
        return not self.path


def parse_instant(text: str) -> int:
    """A date-time filter value -> µs since epoch; naive values are in the default facility."""
    text = text.strip()
    if len(text) > 19 and text[-6] == " " and text[-3] == ":":  # '+' decoded as a space
        text = text[:-6] + "+" + text[-5:]
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=DEFAULT_TZ)
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1", "yes", "y"):
        return True
    if low in ("false", "0", "no", "n"):
        return False
    raise ValueError(text)


def _parse_scalar(kind: str, lookup: str, text: str) -> Any:
    if lookup in PARTS:
        return int(text)
    if lookup in TEXTUAL and lookup != "exact":
        return text
    if kind in (INTEGER, STATUS, FK):
        return int(text)
    if kind == DECIMAL:
        return Decimal(text)
    if kind == BOOLEAN:
        return _parse_bool(text)
    if kind == DATETIME:
        return parse_instant(text)
    if kind == DATE:
        return date.fromisoformat(text.strip()).isoformat()
    return text


def parse_value(kind: str, lookup: str, text: str) -> Any:
    try:
        if lookup == "isnull":
            return _parse_bool(text)
        if lookup == "in":
            return frozenset(_parse_scalar(kind, "exact", p) for p in text.split(","))
        if lookup == "range":
            parts = text.split(",")
            if len(parts) != 2:
                raise ValueError("range needs lo,hi")
            return tuple(_parse_scalar(kind, "exact", p) for p in parts)
        return _parse_scalar(kind, lookup, text)
    except (ValueError, InvalidOperation) as exc:
        raise FilterError(f"Invalid value {text!r} for lookup {lookup!r}: {exc}") from exc


def parse_filter(
    entity: Entity, key: str, text: str, entities: Callable[[str], Entity | None]
) -> Cond:
    """Parse one ``key=value`` pair (key may end in ``!`` for negation)."""
    negate = key.endswith("!")
    parts = key.rstrip("!").split("__")
    top = entity.by_name.get(parts[0])
    if top is None:
        raise FilterError(f"Unknown filter field {parts[0]!r} on {entity.name}")
    lookup = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup = parts.pop()
    leaf: Field = top
    path: list[str] = []
    targets: list[str] = []
    for hop in parts[1:]:
        if leaf.kind != FK:
            raise FilterError(f"Unknown lookup {hop!r} on field {leaf.name!r}")
        target = entities(leaf.target or "")
        targets.append(leaf.target or "")
        if hop == "key":
            leaf = Field("key", "text")
        elif target is None or hop not in target.by_name:
            raise FilterError(f"Unknown field {hop!r} across {leaf.name!r}")
        else:
            leaf = target.by_name[hop]
        path.append(hop)
    if lookup in PARTS and leaf.kind not in (DATE, DATETIME):
        raise FilterError(f"Lookup {lookup!r} needs a date or date-time field")
    value = parse_value(leaf.kind, lookup, text)
    return Cond(parts[0], tuple(path), leaf.kind, lookup, value, negate, tuple(targets))


def _norm(kind: str, raw: Any) -> Any:
    """A served value -> the comparable form of a parsed filter value."""
    if raw is None:
        return None
    if kind == FK:
        return raw["id"] if isinstance(raw, dict) else raw
    if kind == DATETIME:
        return parse_instant(raw)
    if kind == DECIMAL:
        return Decimal(raw)
    return raw


def _text(kind: str, raw: Any) -> str:
    if isinstance(raw, dict):
        raw = raw.get("id")
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _part(kind: str, raw: str, lookup: str) -> int:
    dt = datetime.fromisoformat(raw) if kind == DATETIME else datetime.fromisoformat(raw[:10])
    if lookup == "week_day":
        return dt.isoweekday() % 7 + 1  # Django: 1 = Sunday ... 7 = Saturday
    return int(getattr(dt, lookup))


def _test(cond: Cond, raw: Any) -> bool:
    lk, val, kind = cond.lookup, cond.value, cond.kind
    if lk == "isnull":
        return (raw is None) == val
    if raw is None:
        return False
    if lk in PARTS:
        return _part(kind, raw, lk) == val
    if lk in TEXTUAL and lk != "exact":
        hay, needle = _text(kind, raw), val
        if lk.startswith("i"):
            hay, needle, lk = hay.lower(), needle.lower(), lk[1:]
        if lk == "exact":
            return hay == needle
        if lk == "contains":
            return needle in hay
        if lk == "startswith":
            return hay.startswith(needle)
        return hay.endswith(needle)
    got = _norm(kind, raw)
    if lk == "exact":
        return got == val
    if lk == "in":
        return got in val
    if lk == "range":
        return val[0] <= got <= val[1]
    if lk == "gt":
        return got > val
    if lk == "gte":
        return got >= val
    if lk == "lt":
        return got < val
    return got <= val  # lte


def matches(cond: Cond, rec: dict[str, Any], resolve: Resolver) -> bool:
    """Does the record satisfy the condition? Negation includes nulls (Django ``exclude``)."""
    raw = rec.get(cond.field)
    for hop, target in zip(cond.path, cond.targets, strict=True):
        if raw is None:
            break
        if hop == "key":
            raw = raw.get("key")
            break
        related = resolve(target, raw["id"])
        raw = None if related is None else related.get(hop)
    result = _test(cond, raw)
    return not result if cond.negate else result
