"""Issue 17, defect 3 and the target's half of defect 2: one bad value never ends a run.

On the embedded SQLite as in Oracle mode, a record holding a value the warehouse cannot
store exactly is quarantined with a reason naming the field and the value (cut short);
every other record loads. Stored rows + quarantined rows = rows sent.
"""

from __future__ import annotations

import json

import pytest

from .conftest import SCHEMA, schema_msg, ts

pytestmark = pytest.mark.backends("sqlite", "oracle-mode")

HEAD = '{"type": "RECORD", "stream": "order_hdr", "record": '
WIDE = {**SCHEMA, "properties": {**SCHEMA["properties"],
                                  "n": {"type": ["integer", "null"]},
                                  "note": {"type": ["string", "null"]}}}


def line(id_: int, body: str) -> str:
    """A raw RECORD line (exact digits and escapes, as a tap writes them)."""
    return HEAD + f'{{"id": {id_}, "mod_ts": "{ts(1)}"{body}}}}}'


def load(wh, lines: list[str], schema: dict = WIDE, **config) -> tuple[list, dict[int, str]]:
    """Run the target (upsert, rejects allowed); the live ids and reasons by rejected id."""
    wh.run([json.dumps(schema_msg(schema=schema)), *lines], load_method="upsert",
           max_rejects=len(lines), **config)
    live = wh.query("SELECT id FROM wms_order_hdr ORDER BY id")
    rejects = wh.query("SELECT record_key, reason FROM wms_order_hdr_rejects") if any(
        "rejects" in r[0].lower() for r in wh.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")) else []
    return [r[0] for r in live], {json.loads(k)[0]: r for k, r in rejects}


def test_integers_past_64_bits_are_quarantined_not_fatal(wh):
    """SQLite raised OverflowError for 10**40 + 7 and ended the run. Between 2**63 and
    NUMBER(38) SQLite's INTEGER cannot hold the value exactly (text is turned into a
    rounded REAL by the column's affinity): quarantined on SQLite, stored on Oracle."""
    lines = [line(1, ', "n": 7'), line(2, f', "n": {10**40 + 7}'), line(8, ', "n": 1' + "0" * 5000),
             line(3, f', "n": {-(10**38)}'), line(4, f', "n": {2**63}'),
             line(5, f', "n": {2**63 - 1}'), line(6, f', "n": {-(2**63)}'),
             line(7, f', "n": {10**38 - 1}')]
    live, reasons = load(wh, lines)
    assert "10000000000000000000000000000000000000007" in reasons[2]
    assert "N" in reasons[2].upper() and "NUMBER(38)" in reasons[2]
    assert "NUMBER(38)" in reasons[3]
    assert "5001 digits" in reasons[8] or "must be integer" in reasons[8]  # msgspec refused it
    if wh.backend == "sqlite":
        assert live == [1, 5, 6]
        assert "64-bit" in reasons[4] and "64-bit" in reasons[7]
        assert wh.query("SELECT n FROM wms_order_hdr ORDER BY id") == [
            (7,), (2**63 - 1,), (-(2**63),)]
    else:
        assert live == [1, 4, 5, 6, 7]
    assert len(live) + len(reasons) == len(lines)


def test_a_fraction_for_an_integer_column_is_never_rounded(wh):
    """``3.5`` for an integer column: quarantined (by the schema, or without validation by
    the column), never stored as 3 or 4; an integral ``3.0`` is the integer 3."""
    lines = [line(1, ', "n": 3.5'), line(2, ', "n": 3.0'), line(3, ', "n": 4')]
    live, reasons = load(wh, lines, validate_records=False)
    assert live == [2, 3]
    assert "3.5" in reasons[1] and "N" in reasons[1].upper()
    assert wh.query("SELECT n FROM wms_order_hdr ORDER BY id") == [(3,), (4,)]


def test_a_column_that_drifted_from_integer_to_number_rounds_nothing(wh):
    """The table was created with ``n`` an integer; the schema now says number. SQLite's
    INTEGER affinity would turn ``3.5`` into a REAL and 20 digits into a rounded one."""
    load(wh, [line(1, ', "n": 1')])
    drifted = {**WIDE, "properties": {**WIDE["properties"], "n": {"type": ["number", "null"]}}}
    live, reasons = load(wh, [line(2, ', "n": 3.5'), line(3, f', "n": {10**20 + 7}'),
                              line(4, ', "n": 5')], schema=drifted)
    assert set(reasons) == {2} | ({3} if wh.backend == "sqlite" else set())
    assert live == ([1, 4] if wh.backend == "sqlite" else [1, 3, 4])
    assert (1,) in wh.query("SELECT n FROM wms_order_hdr") and (5,) in wh.query(
        "SELECT n FROM wms_order_hdr")


def test_values_the_tap_could_not_convert_are_quarantined_naming_field_and_value(wh):
    """The tap sends what it cannot convert as the text it received (issue 17, defect 2);
    the target quarantines the record with a reason naming the field and the value."""
    long_bad = "2025-13-45T99:00:00" + "x" * 5000
    lines = [line(1, ', "create_ts": "2025-13-45T99:00:00"'),
             line(2, ', "qty": "NaN"'), line(3, ', "qty": "Infinity"'),
             line(4, f', "create_ts": "{long_bad}"'),
             line(5, ', "qty": 1.5, "note": "ok \ufffd stays"')]
    live, reasons = load(wh, lines)
    assert live == [5]
    assert "create_ts" in reasons[1].lower() and "2025-13-45T99:00:00" in reasons[1]
    assert "qty" in reasons[2].lower() and "NaN" in reasons[2]
    assert "qty" in reasons[3].lower() and "Infinity" in reasons[3]
    assert "create_ts" in reasons[4].lower() and len(reasons[4]) < 400  # the value cut short
    assert wh.query("SELECT note FROM wms_order_hdr") == [("ok \ufffd stays",)]


def test_a_lone_surrogate_is_quarantined_not_fatal(wh):
    """``"\\ud800"`` is valid JSON but no UTF-8 database can store it: the record is
    quarantined (its JSON kept with the escape), the run goes on. msgspec refused the line
    and the SDK ended the run on it."""
    lines = [line(1, r', "note": "before \ud800 after"'), line(2, ', "note": "fine"'),
             line(3, r', "note": "pair \ud83d\udce6 ok"')]
    live, reasons = load(wh, lines)
    assert live == [2, 3]
    assert "note" in reasons[1].lower() and "surrogate" in reasons[1]
    (record_json,) = wh.query("SELECT record_json FROM wms_order_hdr_rejects")[0]
    assert json.loads(record_json)["note"] == "before \ud800 after"
    assert wh.query("SELECT note FROM wms_order_hdr WHERE id = 3") == [("pair 📦 ok",)]


@pytest.mark.parametrize("text", ["1714963659823085529765.00220012243700",
                                  "1.57802236870301687830188458860E-25", "12.500"])
def test_a_decimal_with_trailing_zeros_keeps_its_value(text):
    """``Decimal.normalize()`` rounds to the context's 28 digits: a 30-digit value with a
    trailing zero was bound rounded (found by the property tests)."""
    from decimal import Decimal

    from target_oracle import types as T
    from target_oracle.dialects import Column, OracleDialect, SQLiteDialect

    col = Column("X", "x", T.ColumnType(T.NUMBER))
    assert OracleDialect().converter(col)(Decimal(text)) == Decimal(text)
    assert SQLiteDialect().converter(col)(Decimal(text)) == text  # SQLite keeps the digits
