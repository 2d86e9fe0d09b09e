"""JSON Schema → a dialect-neutral column kind.

The SDK's mapping compiles to types Oracle rejects or that lose data (``DATETIME``,
length-less ``VARCHAR``, unconstrained ``DECIMAL``). Here a property becomes a small
:class:`ColumnType` (kind + length); each dialect in :mod:`target_oracle.dialects` renders
it. Widening rules live here so both dialects evolve tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

INTEGER = "integer"
NUMBER = "number"
STRING = "string"
CLOB = "clob"
TIMESTAMP = "timestamp"
DATE = "date"
BOOLEAN = "boolean"
JSON = "json"

#: Oracle's VARCHAR2 limit (standard MAX_STRING_SIZE); longer strings go to CLOB.
MAX_VARCHAR = 4000


@dataclass(frozen=True)
class ColumnType:
    """What a column must hold: ``kind`` and, for strings, the length in characters."""

    kind: str
    length: int | None = None


def _types_of(prop: dict) -> list[str]:
    raw = prop.get("type", [])
    types = [raw] if isinstance(raw, str) else list(raw)
    return [t for t in types if t != "null"]


def _branch(prop: dict) -> ColumnType | None:
    types = _types_of(prop)
    if not types:
        return None
    if len(types) > 1:
        # ["string", "integer"] etc.: only text holds every value.
        if set(types) <= {"integer", "number"}:
            return ColumnType(NUMBER)
        return ColumnType(STRING, MAX_VARCHAR)
    kind = types[0]
    if kind == "integer":
        return ColumnType(INTEGER)
    if kind == "number":
        return ColumnType(NUMBER)
    if kind == "boolean":
        return ColumnType(BOOLEAN)
    if kind in {"object", "array"}:
        return ColumnType(JSON)
    if kind == "string":
        fmt = prop.get("format")
        if fmt == "date-time":
            return ColumnType(TIMESTAMP)
        if fmt == "date":
            return ColumnType(DATE)
        length = prop.get("maxLength") or MAX_VARCHAR
        return ColumnType(CLOB) if length > MAX_VARCHAR else ColumnType(STRING, int(length))
    return ColumnType(STRING, MAX_VARCHAR)


def column_type(prop: dict) -> ColumnType:
    """Map one JSON Schema property to a :class:`ColumnType`.

    ``anyOf`` branches are merged with :func:`widest`; a property with no usable type
    becomes text (nothing is ever dropped).
    """
    branches = [b for b in (_branch(p) for p in prop.get("anyOf", [])) if b is not None]
    own = _branch(prop)
    if own is not None:
        branches.append(own)
    if not branches:
        return ColumnType(STRING, MAX_VARCHAR)
    result = branches[0]
    for other in branches[1:]:
        result = widest(result, other)
    return result


#: Characters all text key columns of one table take together. The primary key and the
#: snapshot index carry them: VARCHAR2(n CHAR) takes up to 4n bytes in AL32UTF8, and an
#: index key must stay under ~6,400 bytes (8 KB blocks, ORA-01450) — on Autonomous Database
#: (MAX_STRING_SIZE=EXTENDED) an uncapped VARCHAR2(4000 CHAR) key could take 16,000.
#: 1,000 characters = at most 4,000 bytes, room left for numeric and date-time key parts.
KEY_MAX_CHARS = 1000


def cap_key_types(types: dict[str, ColumnType], keys: list[str]) -> dict[str, ColumnType]:
    """``types`` with every text key column capped to its share of :data:`KEY_MAX_CHARS`
    (a key is never a CLOB). A longer key value is quarantined by the column's converter;
    a declared ``maxLength`` under the share is kept."""
    out = dict(types)
    textual = [k for k in keys if k in types and types[k].kind in {STRING, CLOB, JSON}]
    if textual:
        share = KEY_MAX_CHARS // len(textual)
        for k in textual:
            length = types[k].length if types[k].kind == STRING else None
            out[k] = ColumnType(STRING, min(length or MAX_VARCHAR, share))
    return out


def widest(a: ColumnType, b: ColumnType) -> ColumnType:
    """The narrowest type that holds values of both ``a`` and ``b``."""
    if a == b:
        return a
    if {a.kind, b.kind} == {INTEGER, NUMBER}:
        return ColumnType(NUMBER)
    if CLOB in (a.kind, b.kind) or JSON in (a.kind, b.kind):
        return ColumnType(CLOB)
    if a.kind == STRING and b.kind == STRING:
        return ColumnType(STRING, max(a.length or MAX_VARCHAR, b.length or MAX_VARCHAR))
    # Mixed kinds (e.g. date-time and plain string): text of full width.
    return ColumnType(STRING, MAX_VARCHAR)


def widening(existing: ColumnType, wanted: ColumnType) -> ColumnType | None:
    """The type ``existing`` must change to so it can hold ``wanted``, or None.

    Only strings widen in place (longer ``VARCHAR2`` or a move to CLOB); any other
    difference keeps the existing column — nothing is dropped or narrowed, and a value
    that does not fit is quarantined by the sink rather than silently altered.
    """
    if existing.kind == STRING and wanted.kind == STRING:
        if (wanted.length or 0) > (existing.length or 0):
            return wanted
        return None
    if existing.kind == STRING and wanted.kind in {CLOB, JSON}:
        return ColumnType(CLOB)
    return None
