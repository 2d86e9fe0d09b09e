"""`describe` → JSON Schema of the flattened Singer record.

Oracle does not document the type names of `describe`, so names are normalised
("DateTimeField", "date_time", "datetime" are one type) and anything unrecognised
becomes a string. Field *names* carry facts the type may not: a `*_id` other than
`status_id` is a foreign key whatever its type says, `*_set` and `url` are links.
"""

from __future__ import annotations

import re
import typing as t

FK_SUFFIX = "_key"

_NULLABLE_STRING: dict[str, t.Any] = {"type": ["string", "null"]}

_TYPE_ALIASES: dict[str, str] = {
    **dict.fromkeys(("datetime", "timestamp", "datetimetz", "timestamptz"), "datetime"),
    "date": "date",
    **dict.fromkeys(
        (
            "integer",
            "int",
            "bigint",
            "smallint",
            "long",
            "autofield",
            "bigautofield",
            "positiveinteger",
            "positivesmallinteger",
            "biginteger",
            "smallinteger",
            "number_int",
        ),
        "integer",
    ),
    **dict.fromkeys(("decimal", "numeric", "float", "double", "number", "real"), "decimal"),
    **dict.fromkeys(("boolean", "bool", "nullboolean", "flag"), "boolean"),
    **dict.fromkeys(
        ("text", "string", "char", "varchar", "str", "textarea", "email", "slug"), "string"
    ),
}
_FK_WORDS = ("relation", "foreign", "fk", "manytoone", "onetoone", "reference")
_LINK_WORDS = ("onetomany", "manytomany", "reverse", "childset", "set")

#: Always timestamps (documented on every record), even under an unknown type name.
TIMESTAMP_NAMES = frozenset({"create_ts", "mod_ts"})


def is_link(name: str) -> bool:
    return name == "url" or name.endswith("_set")


def is_fk_name(name: str) -> bool:
    return name.endswith("_id") and name != "status_id"


def normalise_type(raw: t.Any) -> str:
    """Canonical kind: datetime, date, integer, decimal, boolean, string, fk, link."""
    word = re.sub(r"[^a-z0-9]", "", str(raw or "").lower())
    if word.endswith("field") and word != "field":
        word = word[: -len("field")]
    if word in _TYPE_ALIASES:
        return _TYPE_ALIASES[word]
    if any(w in word for w in _FK_WORDS):
        return "fk"
    if any(word == w or word.endswith(w) for w in _LINK_WORDS):
        return "link"
    return "string"


def _iter_fields(describe: t.Mapping[str, t.Any]) -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    """Tolerate `fields` as a name → spec object (observed) or as a list of specs."""
    fields = describe.get("fields", describe)
    if isinstance(fields, t.Mapping):
        for name, spec in fields.items():
            yield str(name), dict(spec) if isinstance(spec, t.Mapping) else {"type": spec}
    elif isinstance(fields, list):
        for spec in fields:
            if isinstance(spec, t.Mapping) and spec.get("name"):
                yield str(spec["name"]), dict(spec)
            elif isinstance(spec, str):
                yield spec, {}


def field_kind(name: str, spec: t.Mapping[str, t.Any]) -> str:
    if is_link(name):
        return "link"
    if name == "id" or name == "status_id":
        return "integer"
    if is_fk_name(name):
        return "fk"
    kind = normalise_type(spec.get("type"))
    if name in TIMESTAMP_NAMES and kind == "string":
        return "datetime"
    return kind


def property_schema(kind: str, spec: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    if kind == "datetime":
        return {"type": ["string", "null"], "format": "date-time"}
    if kind == "date":
        return {"type": ["string", "null"], "format": "date"}
    if kind == "integer":
        return {"type": ["integer", "null"]}
    if kind == "decimal":
        return {"type": ["number", "null"]}
    if kind == "boolean":
        return {"type": ["boolean", "null"]}
    prop = dict(_NULLABLE_STRING)
    max_length = spec.get("max_length", spec.get("maxLength"))
    if isinstance(max_length, int) and max_length > 0:
        prop["maxLength"] = max_length
    return prop


def describe_to_schema(describe: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """JSON Schema of the flattened record; `id` first and non-null (primary key)."""
    properties: dict[str, t.Any] = {"id": {"type": ["integer"]}}
    for name, spec in _iter_fields(describe):
        kind = field_kind(name, spec)
        if kind == "link" or name == "id":
            continue
        if kind == "fk":
            properties[name] = {"type": ["integer", "null"]}
            properties[name + FK_SUFFIX] = dict(_NULLABLE_STRING)
        else:
            properties[name] = property_schema(kind, spec)
    return {"type": "object", "properties": properties, "additionalProperties": False}


def add_missing_properties(
    catalog_schema: t.Mapping[str, t.Any], described: t.Mapping[str, t.Any]
) -> tuple[dict[str, t.Any], list[str]]:
    """The catalog's schema plus every property `described` has and the catalog lacks,
    and the names added.

    A catalog property keeps the catalog's definition (a user may have overridden its
    type); a property only the catalog has stays (a field WMS dropped loads as null).
    """
    have: t.Mapping[str, t.Any] = catalog_schema.get("properties") or {}
    new = described.get("properties") or {}
    added = [name for name in new if name not in have]
    merged = dict(catalog_schema)
    if added:
        merged["properties"] = {**have, **{name: new[name] for name in added}}
    return merged, added
