"""Issue 17, what holds today (target side), kept by tests on SQLite and in Oracle mode:
a broken Singer stream fails the run and leaves the published table alone; reserved-word
and long field names get their columns; hostile values are stored exactly or quarantined.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from singer_sdk.exceptions import InvalidInputLine

from target_oracle.naming import assign_column_names

from .conftest import SCHEMA, V1, V2, marker, rec, schema_msg, ts

pytestmark = pytest.mark.backends("sqlite", "oracle-mode")


def full(version: int, ids: list[int], code: str) -> list[dict | str]:
    return [schema_msg(), marker(version),
            *[rec(i, ts(1), version=version, code=f"{code}{i}") for i in ids], marker(version)]


@pytest.mark.parametrize("bad", [
    "this is not JSON",
    '{"type": "RECORD", "stream": "order_hdr", "record": {"id": 9, "mod_',  # a cut line
    '{"type": "RECORD", "stream": "order_hdr", "record": {"id": 9, "qty": NaN}}',
    "\x00\xff\xfe",
])
def test_a_garbage_line_fails_the_run_and_the_published_table_is_untouched(wh, bad):
    """The garbage comes before the snapshot's end marker: skipping it would publish V2."""
    wh.run(full(V1, [1, 2, 3], "a"))
    before = wh.live()
    broken = full(V2, [1, 2], "b")
    broken.insert(3, bad)
    with pytest.raises(InvalidInputLine):
        wh.run(broken)
    assert wh.live() == before
    assert [a[0] for a in wh.audit()].count("publish") == 1


RESERVED = ["level", "size", "comment", "order", "user", "uid", "date", "number", "rowid",
            "select", "from"]
LONG = "a_field_name_of_sixty_eight_characters_" + "x" * 29


def test_reserved_words_and_68_character_names_get_their_columns(wh):
    assert len(LONG) == 68
    names = [*RESERVED, LONG]
    props = {**SCHEMA["properties"], **{n: {"type": ["string", "null"]} for n in names}}
    record = {n: f"value of {n}" for n in names}
    wh.run([schema_msg(schema={**SCHEMA, "properties": props}),
            rec(1, ts(1), **record), rec(2, ts(1), **{n: f"2 {n}" for n in names})],
           load_method="upsert")
    columns = assign_column_names(props, upper=wh.backend != "sqlite")
    assert len(set(columns.values())) == len(props)
    select = ", ".join(f'"{columns[n]}"' for n in names)
    rows = wh.query(f"SELECT {select} FROM wms_order_hdr ORDER BY id")
    assert rows == [tuple(record.values()), tuple(f"2 {n}" for n in names)]


HOSTILE_SCHEMA = {**SCHEMA, "properties": {
    **SCHEMA["properties"],
    "note": {"type": ["string", "null"], "maxLength": 1000},
    "text": {"type": ["string", "null"]},
}}
TINY = "-0." + "0" * 40 + "1"
HOSTILE = {  # id -> (property, raw JSON value, stored exactly?)
    1: ("text", json.dumps("before\u0000after"), True),
    2: ("note", json.dumps("x" * 1_000_001), False),
    3: ("qty", "1" * 41, False),
    4: ("qty", "1e400", False),
    5: ("text", '{"an": "object", "where": ["text", "belongs"]}', False),
    6: ("text", json.dumps("'); DROP TABLE wms_order_hdr; -- <script>alert(1)</script>"),
        True),
    7: ("text", json.dumps("<b>&amp;</b> ]]> \" ' \\ %s {0}"), True),
    8: ("qty", TINY, True),
    9: ("qty", "-0.0", True),
    10: ("code", json.dumps("x" * 21), False),  # over maxLength 20
}


def test_hostile_values_are_each_stored_exactly_or_quarantined(wh):
    """The same outcome on SQLite and in Oracle mode: the dev warehouse refuses what Oracle
    would (41 digits, 1e400 are not NUMBERs Oracle can hold)."""
    head = '{"type": "RECORD", "stream": "order_hdr", "record": '
    lines = [json.dumps(schema_msg(schema=HOSTILE_SCHEMA))]
    for id_, (prop, raw, _) in HOSTILE.items():
        lines.append(head + f'{{"id": {id_}, "mod_ts": "{ts(1)}", "{prop}": {raw}}}}}')
    wh.run(lines, load_method="upsert", max_rejects=len(HOSTILE))
    stored = {r[0]: r[1:] for r in wh.query(
        "SELECT id, text, note, qty, code FROM wms_order_hdr")}
    rejected = {json.loads(k)[0]: reason for k, reason in wh.query(
        "SELECT record_key, reason FROM wms_order_hdr_rejects")}
    assert len(stored) + len(rejected) == len(HOSTILE)
    assert sorted(stored) == sorted(i for i, (_, _, kept) in HOSTILE.items() if kept)
    for id_, (prop, raw, kept) in HOSTILE.items():
        if not kept:
            assert rejected[id_], id_
            continue
        value = stored[id_][["text", "note", "qty", "code"].index(prop)]
        if prop == "qty":
            assert Decimal(str(value)) == Decimal(raw), (id_, value)
        else:
            assert value == json.loads(raw), id_
    assert "41" in rejected[3] or "digits" in rejected[3]
    assert "qty" in rejected[4].lower() and "1E+400" in rejected[4]
