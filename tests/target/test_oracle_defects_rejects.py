"""Issue 11, defect 7: a record rejected inside a full snapshot keeps its live row.

The publish must not soft- (or hard-) delete a live row whose record was rejected in the
same snapshot: the row is still in WMS, only not loadable. The key of the reject is kept in
typed columns converted like the live key, so string keys, decimal keys and a key that arrived
as ``"123"`` for an integer column are all recognised (the old ``'[' || key || ']'`` text match
only worked for integer keys that arrived as integers).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from .conftest import SCHEMA, V1, V2, marker, schema_msg, ts

RULE = {"order_hdr": ["qty >= 0"]}
pytestmark = pytest.mark.backends("sqlite", "oracle-mode")


def _schema(key_type: dict) -> dict:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["id"] = key_type
    return schema


def _full(version: int, schema: dict, records: list[dict]) -> list[dict]:
    return [schema_msg(schema=schema), marker(version),
            *[{"type": "RECORD", "stream": "order_hdr", "version": version, "record": r}
              for r in records],
            marker(version)]


def _live(wh) -> dict:
    return dict(wh.query("SELECT id, _sdc_deleted_at FROM wms_order_hdr"))


@pytest.mark.parametrize("hard", [False, True])
def test_string_key_rejected_in_snapshot_stays_live(wh, hard):
    schema = _schema({"type": "string", "maxLength": 20})
    rows = [{"id": k, "mod_ts": ts(1), "qty": 1} for k in ("A", "B", "C")]
    wh.run(_full(V1, schema, rows), business_rules=RULE)
    second = [{"id": "A", "mod_ts": ts(2), "qty": 1},
              {"id": "B", "mod_ts": ts(2), "qty": -1}]  # rejected: still in WMS
    wh.run(_full(V2, schema, second), business_rules=RULE, max_rejects=5, hard_delete=hard)
    live = _live(wh)
    assert "B" in live and live["B"] is None, live
    if hard:
        assert "C" not in live
    else:
        assert live["C"] is not None  # really absent: deleted


def test_integer_key_that_arrived_as_text_stays_live(wh):
    schema = _schema({"type": "integer"})
    wh.run(_full(V1, schema, [{"id": i, "mod_ts": ts(1)} for i in (121, 122, 123)]))
    # "123" fails the schema (integer): quarantined, but it is row 123 in WMS
    wh.run(_full(V2, schema, [{"id": 121, "mod_ts": ts(2)}, {"id": "123", "mod_ts": ts(2)}]),
           max_rejects=5)
    live = _live(wh)
    assert live[123] is None and live[121] is None
    assert live[122] is not None


def test_decimal_key_rejected_in_snapshot_stays_live(wh):
    schema = _schema({"type": "number"})
    # JSON numbers with a fraction are read as Decimal: write them as raw JSON lines
    head = [_dump(schema_msg(schema=schema)), _dump(marker(V1))]
    wh.run([*head, _record_line(V1, "12.50", ts(1), 1), _record_line(V1, "7.25", ts(1), 1),
            _dump(marker(V1))])
    # the key arrives as text: quarantined by the schema, but it is row 12.50 in WMS
    wh.run([_dump(schema_msg(schema=schema)), _dump(marker(V2)),
            _record_line(V2, '"12.50"', ts(2), 1), _dump(marker(V2))], max_rejects=5)
    # SQLite keeps the digits as text; Oracle's NUMBER reads back 12.5
    live = {Decimal(str(k)): v for k, v in
            wh.query("SELECT id, _sdc_deleted_at FROM wms_order_hdr")}
    assert live[Decimal("12.50")] is None, live
    assert live[Decimal("7.25")] is not None


def test_composite_key_rejected_in_snapshot_stays_live(wh):
    schema = _schema({"type": "string"})
    schema["properties"]["line"] = {"type": "integer"}
    msg = schema_msg(schema=schema)
    msg["key_properties"] = ["id", "line"]

    def full(version, recs):
        return [msg, marker(version),
                *[{"type": "RECORD", "stream": "order_hdr", "version": version, "record": r}
                  for r in recs], marker(version)]

    wh.run(full(V1, [{"id": "A", "line": n, "mod_ts": ts(1), "qty": 1} for n in (1, 2)]),
           business_rules=RULE)
    wh.run(full(V2, [{"id": "A", "line": 1, "mod_ts": ts(2), "qty": -1}]),
           business_rules=RULE, max_rejects=5)
    live = {(r[0], r[1]): r[2] for r in
            wh.query("SELECT id, line, _sdc_deleted_at FROM wms_order_hdr")}
    assert live[("A", 1)] is None
    assert live[("A", 2)] is not None


def _dump(msg: dict) -> str:
    import json

    return json.dumps(msg)


def _record_line(version: int, key: str, mod: str, qty: int) -> str:
    return (f'{{"type": "RECORD", "stream": "order_hdr", "version": {version}, "record": '
            f'{{"id": {key}, "mod_ts": "{mod}", "qty": {qty}}}}}')
