"""Issue 17, property tests: hostile values through the tap's whole record path.

A page body as a Python server writes it (`json.dumps`, lone surrogates as `\\udXXX`
escapes) → `payloads.parse_body` → `RecordPlan.flatten_page` → the Singer writer → the line
read back. The run must never fail on a value, and the only outcomes allowed are the value
emitted as sent (the same text, the same number, the same instant in the tap's UTC form) or
emitted as text for the target to quarantine; a lone surrogate becomes U+FFFD.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from singer_sdk.singerlib.encoding.simple import RecordMessage

from tap_oracle_wms.payloads import parse_body
from tap_oracle_wms.records import RecordPlan
from tap_oracle_wms.writer import WMSMessageWriter

PROPERTIES = {
    "id": {"type": ["integer"]},
    "note": {"type": ["string", "null"]},
    "qty": {"type": ["number", "null"]},
    "count": {"type": ["integer", "null"]},
    "create_ts": {"type": ["string", "null"], "format": "date-time"},
}
SURROGATE = re.compile("[\ud800-\udfff]")
FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_writer = WMSMessageWriter()


def through_the_tap(field: str, json_value: str) -> object:
    """The value of `field` in the Singer line written for a one-record page."""
    body = f'{{"results":[{{"id":1,"{field}":{json_value}}}],"next_page":null}}'.encode()
    payload = parse_body(body, what="entity 'prop'", warned=set())
    (record,) = RecordPlan(dict(PROPERTIES)).flatten_page(payload["results"])
    line = _writer.serialize_message(RecordMessage(stream="prop", record=record))
    message = json.loads(bytes(line).decode("utf-8"), parse_float=Decimal)
    return message["record"][field]


# --- texts: control characters, lone surrogates, huge lengths -------------------------------

_HOSTILE_CHARS = st.sampled_from(["\x00", "\x01", "\x1f", "\x7f", "\u2028", "\ufeff",
                                  "\ud800", "\udbff", "\udc00", "\udfff", '"', "\\", "\n"])
_TEXTS = st.one_of(
    st.lists(st.one_of(st.characters(), _HOSTILE_CHARS), max_size=60).map("".join),
    st.tuples(st.integers(0, 300_000), _HOSTILE_CHARS).map(lambda t: "x" * t[0] + t[1]),
)


@FAST
@given(_TEXTS)
def test_a_text_is_emitted_as_sent_or_with_u_fffd_for_a_lone_surrogate(text: str) -> None:
    sent = json.dumps(text)  # ensure_ascii: surrogates as escapes, as a Python server writes
    got = through_the_tap("note", sent)
    # What the JSON text means: adjacent high+low escapes are one character (a pair).
    assert got == SURROGATE.sub("\ufffd", json.loads(sent))


# --- numbers at and past NUMBER(38), past 64 bits, at and past the float limits ---------------

_INTEGERS = st.one_of(
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**38 - 1, 10**38, 10**40 + 7,
                     -(10**41), 10**400]),
    st.integers(0, 10**60).map(lambda n: n * 10**20 + 7),
)
_DECIMAL_TEXTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e400", "-1e400",
                     "1.7976931348623157e308", "1.8e308", "5e-324", "1e-400", "2.5e-324",
                     "-0.0000000000000000000000000000000000000000001", "1" * 41 + ".5",
                     "9" * 38, "12.500", "abc", "", " 1", "1_000"]),
    st.text(max_size=12),
)


@FAST
@given(_INTEGERS)
def test_an_integer_is_emitted_with_every_digit(number: int) -> None:
    got = through_the_tap("count", str(number))
    assert type(got) is int and got == number


@FAST
@given(_DECIMAL_TEXTS)
def test_a_decimal_sent_as_text_is_emitted_as_the_same_number_or_as_text(text: str) -> None:
    got = through_the_tap("qty", json.dumps(text))
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite():
        assert isinstance(got, (int, Decimal)) and Decimal(got) == number
    else:
        assert got == text  # text the target quarantines for a number column


@FAST
@given(st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["1e400", "-1e400", "1.7976931348623157e308", "1e309", "5e-324",
                     "1e-400", "1" * 41 + ".5", "0.0", "-0"]),
))
def test_a_decimal_sent_as_a_json_number_keeps_its_exact_value(text: str) -> None:
    got = through_the_tap("qty", text)
    assert Decimal(got) == Decimal(text)


# --- impossible dates ----------------------------------------------------------------------

_DATES = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    st.builds(lambda y, mo, d, h, mi: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:00",
              st.integers(0, 9999), st.integers(0, 19), st.integers(0, 40),
              st.integers(0, 30), st.integers(0, 70)),
    st.sampled_from(["2025-13-45T99:00:00", "2025-02-30T00:00:00", "0000-00-00T00:00:00",
                     "yesterday", "", "2025-05-31T19:57:42.738709+25:00", "T", "2025"]),
    st.text(max_size=20),
)


@FAST
@given(_DATES)
def test_a_date_time_is_emitted_as_the_same_instant_or_as_sent(text: str) -> None:
    got = through_the_tap("create_ts", json.dumps(text))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        assert got == SURROGATE.sub("\ufffd", text)
        return
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    try:
        expected = when.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:  # an instant UTC cannot hold (year 1 with a positive offset)
        assert got == text
        return
    assert got == expected
