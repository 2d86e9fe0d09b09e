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
from decimal import Context, Decimal

from target_oracle.dialects.base import RejectValue
from target_oracle.reasons import show

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


# Oracle value checks -----------------------------------------------------------------------
# Built once per column by the Oracle dialect's converters; on the common value (an ``int`` in
# range, a short ``Decimal``) each costs a class test and a comparison or two. What fails
# raises ``RejectValue`` so the record is quarantined instead of the whole batch failing on
# the server (ORA-01438, ORA-01426) or in python-oracledb (DPY-4003).

#: python-oracledb encodes at most 40 significant digits; NUMBER's exponent range is
#: 1E-130 … 9.99…E125.
NUMBER_MAX_DIGITS = 40
NUMBER_MAX_EXPONENT = 125
NUMBER_MIN_EXPONENT = -130
_NUMBER_SAFE_INT = 10**NUMBER_MAX_DIGITS
_EXACT = Context(prec=NUMBER_MAX_DIGITS)


def _reject(message: str) -> t.NoReturn:
    raise RejectValue(message)


def _decimal_for_number(value: Decimal, label: str) -> Decimal:
    if not value.is_finite():
        _reject(f"{show(value)} is not a number Oracle can store in {label}")
    if not value:
        return Decimal(0)
    digits = value.as_tuple().digits
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    exponent = value.adjusted()
    if (significant > NUMBER_MAX_DIGITS or exponent > NUMBER_MAX_EXPONENT
            or exponent < NUMBER_MIN_EXPONENT):
        _reject(f"{show(value)} cannot be represented in {label} (at most {NUMBER_MAX_DIGITS} "
                f"significant digits, magnitude 1E{NUMBER_MIN_EXPONENT} to below "
                f"1E{NUMBER_MAX_EXPONENT + 1})")
    # Trailing zeros dropped exactly: ``normalize()`` alone rounds to the thread's context
    # precision (28 digits), which changed a 30-digit value without a word.
    return value if significant == len(digits) else value.normalize(_EXACT)


def _number_of(value: t.Any, label: str) -> Decimal | float:
    """Any JSON value → a number for ``label``, or a reject (schema drift lands here)."""
    cls = value.__class__
    if cls is bool:
        return Decimal(int(value))
    if cls is int:
        return Decimal(value)
    if cls is Decimal:
        return value
    if cls is float:
        return value
    if cls is str:
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            _reject(f"not a number for {label}: {show(value)}")
    _reject(f"not a number for {label}: {type(value).__name__}")


def oracle_number_check(name: str) -> t.Callable[[t.Any], t.Any]:
    """Converter of an Oracle ``NUMBER`` column: anything numeric Oracle can store."""
    label = f"{name} (NUMBER)"

    def conv(value: t.Any) -> t.Any:
        cls = value.__class__
        if cls is int:
            if -_NUMBER_SAFE_INT < value < _NUMBER_SAFE_INT:
                return value
        elif cls is float:
            if value == 0 or 1e-130 <= abs(value) < 1e126:
                return value
            _reject(f"{show(value)} is not a number Oracle can store in {label}")
        return _decimal_for_number(Decimal(_number_of(value, label)), label)

    return conv


def oracle_integer_check(name: str, precision: int = 38) -> t.Callable[[t.Any], t.Any]:
    """Converter of an Oracle ``NUMBER(p)`` (scale 0) column: integers of at most ``p``
    digits; integral numbers and numeric text of another schema are taken as integers."""
    return integer_check(name, precision)


#: SQLite's INTEGER is a signed 64-bit integer. Text or a REAL put into an INTEGER column is
#: converted by the column's affinity, keeping 15 significant digits: no exact way to store
#: a larger integer in the column the table already has.
SQLITE_MIN_INT, SQLITE_MAX_INT = -(2**63), 2**63 - 1


def sqlite_integer_check(name: str) -> t.Callable[[t.Any], t.Any]:
    """Converter of a SQLite ``INTEGER`` column (JSON integer, NUMBER(38) on Oracle): what
    Oracle refuses is refused alike, and an integer Oracle would hold that does not fit 64
    bits is quarantined with its own reason rather than rounded or fatal."""
    return integer_check(name, 38, fits=(SQLITE_MIN_INT, SQLITE_MAX_INT))


def integer_check(name: str, precision: int,
                  fits: tuple[int, int] | None = None) -> t.Callable[[t.Any], t.Any]:
    """Integers of at most ``precision`` digits (and, with ``fits``, within that range).

    The common value (an ``int`` in range) costs a class test and two comparisons.
    """
    limit = 10**precision
    label = f"{name} (NUMBER({precision}))"
    low, high = fits if fits is not None else (-limit + 1, limit - 1)

    def conv(value: t.Any) -> int:
        if value.__class__ is int and low <= value <= high:
            return value
        if value.__class__ is not int:
            number = _number_of(value, label)
            if isinstance(number, float) and not number.is_integer():
                _reject(f"{show(value)} is not an integer for {label}")
            number = Decimal(number)
            if not number.is_finite() or number != number.to_integral_value():
                _reject(f"{show(value)} is not an integer for {label}")
            value = int(number)
        if not -limit < value < limit:
            _reject(f"{show(value)} out of range for {label}")
        if not low <= value <= high:
            _reject(f"{show(value)} does not fit {name}: the embedded SQLite's INTEGER is "
                    "64-bit (Oracle's NUMBER(38) would hold it); quarantined, not rounded")
        return value

    return conv
