"""Response body → payload, tolerant of what msgspec refuses but the data is still whole.

msgspec parses every page (JSON numbers become Decimal with their exact digits). It refuses
some bodies that are complete JSON: a lone UTF-16 surrogate written as an escape (`"\\ud800"`,
which a Python server writes for a broken string), the `NaN`/`Infinity` literals Python's
`json` writes. Calling those pages "truncated" retries them for nothing and ends the run on
one value, so a body msgspec refuses is parsed once more with the standard `json` module
before it is called broken (a cut body fails both and is retried by the caller). A lone
surrogate cannot be written to a Singer stream (UTF-8 has no encoding for it): it becomes
U+FFFD, with one warning per field and run; the literals become text, which the target
quarantines where a number was expected.
"""

from __future__ import annotations

import decimal
import json
import logging
import re
import typing as t

import msgspec

logger = logging.getLogger("tap-oracle-wms")

# msgspec rather than orjson: JSON numbers become Decimal with their exact digits
# (orjson would hand us binary floats, and refuses integers past 64 bits), same speed.
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def parse_body(content: bytes, *, what: str, warned: set[str] | None = None) -> t.Any:
    """The parsed body; ValueError when it is not JSON for either parser (cut, HTML)."""
    try:
        return _decoder.decode(content)
    except msgspec.DecodeError as first:
        try:
            text = content.decode("utf-8", "replace")
            payload = json.loads(text, parse_float=decimal.Decimal, parse_constant=str)
        except ValueError:
            raise ValueError(str(first)) from first
    found: set[str] = set()
    payload = _clean(payload, "", found)
    seen = warned if warned is not None else set()
    for field in sorted(found):
        key = f"{what}.{field}"
        if key not in seen:
            seen.add(key)
            logger.warning(
                "%s: field '%s' holds a lone UTF-16 surrogate (invalid Unicode); it is "
                "replaced by U+FFFD in this and any further record (warned once per field)",
                what, field or "<top>",
            )
    return payload


def _clean(value: t.Any, field: str, found: set[str]) -> t.Any:
    """`value` with lone surrogates replaced; the names of the fields holding one go to
    `found` (a record's top-level field name, whatever the nesting below it)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            found.add(field)
            return _SURROGATE.sub(REPLACEMENT, value)
        return value
    if isinstance(value, list):
        return [_clean(item, field, found) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = key if field in ("", "results") else field
            clean_key = _clean(key, name, found) if isinstance(key, str) else key
            out[clean_key] = _clean(item, name, found)
        return out
    return value
