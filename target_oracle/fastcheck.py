"""A cheap, *sufficient* schema check for the common record, ahead of the full validator.

Records of one stream come in a handful of shapes: every property present, each value of one
of a few Python types (``None`` or not). For a flat schema (each property only ``type`` and
``maxLength``) validity then depends on the tuple of value types plus the string lengths, so
the check is: same key count, the type tuple found in a per-stream cache of type tuples known
to be allowed, and the few ``maxLength`` limits. When it answers yes the record is valid under
the schema; when it answers no (or the schema has anything else in it), the full validator
(fastjsonschema) decides, so rejects and their reasons are exactly as before.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

# Python types fastjsonschema accepts for each JSON type, restricted to exact classes so that a
# match is always accepted by the full validator (e.g. bool is not an "integer" here).
_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({int, float, Decimal}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
    "null": frozenset({type(None)}),
}
_PROPERTY_KEYS = frozenset({"type", "maxLength", "description", "title"})
_SCHEMA_KEYS = frozenset({"type", "properties", "additionalProperties", "required",
                          "$schema", "description", "title"})
MAX_SHAPES = 4096


class FastCheck:
    """``check(record, values)``: True only if ``record`` is valid; ``values`` are the
    record's values of ``props`` in that order (every property present)."""

    def __init__(self, allowed: list[frozenset[type]],
                 lengths: list[tuple[int, int]]) -> None:
        self._allowed = allowed
        self._lengths = tuple(lengths)
        self._n = len(allowed)
        self._shapes: set[tuple[type, ...]] = set()

    @classmethod
    def build(cls, schema: t.Mapping[str, t.Any], props: t.Sequence[str]) -> FastCheck | None:
        """The check for ``schema`` (as the full validator sees it), or None when the schema
        is not flat enough for the type-tuple argument to hold."""
        if not isinstance(schema, dict) or set(schema) - _SCHEMA_KEYS:
            return None
        if schema.get("type", "object") not in ("object", ["object"]):
            return None
        properties = schema.get("properties") or {}
        if set(properties) != set(props) or set(schema.get("required") or []) - set(props):
            return None
        allowed: list[frozenset[type]] = []
        lengths: list[tuple[int, int]] = []
        for i, name in enumerate(props):
            prop = properties[name]
            if not isinstance(prop, dict) or set(prop) - _PROPERTY_KEYS or "type" not in prop:
                return None
            types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            if any(tp not in _TYPES for tp in types):
                return None
            allowed.append(frozenset().union(*(_TYPES[tp] for tp in types)))
            if "maxLength" in prop:
                if not isinstance(prop["maxLength"], int):
                    return None
                lengths.append((i, prop["maxLength"]))
        return cls(allowed, lengths)

    def __call__(self, record: dict, values: tuple) -> bool:
        if len(record) != self._n:  # extra keys: let the full validator judge them
            return False
        shape = tuple(map(type, values))
        if shape not in self._shapes:
            if not all(tp in ok for tp, ok in zip(shape, self._allowed, strict=True)):
                return False
            if len(self._shapes) < MAX_SHAPES:
                self._shapes.add(shape)
        for i, limit in self._lengths:
            value = values[i]
            if value.__class__ is str and len(value) > limit:
                return False
        return True
