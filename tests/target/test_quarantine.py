"""Rejects land in <TABLE>_REJECTS with a reason; the run fails past max_rejects."""

from __future__ import annotations

import pytest

from target_oracle.quarantine import TooManyRejects
from target_oracle.rules import RuleError, compile_rule

from .conftest import rec, schema_msg, ts

RULES = {"order_hdr": ["qty >= 0", "mod_ts >= create_ts"]}


def test_rejects_are_quarantined_and_rest_is_loaded(wh):
    msgs = [schema_msg(), rec(1, ts(2), qty=5, create_ts=ts(1)),
            rec(2, ts(2), qty=-1, create_ts=ts(1)),          # business rule
            rec(3, ts(1), qty=1, create_ts=ts(2)),           # business rule
            rec(4, ts(2), qty="lots"),                       # schema
            rec(5, "yesterday", qty=1, create_ts="a")]      # date-time column
    with pytest.raises(TooManyRejects,
                       match=r"(?i)4 record\(s\) rejected.*wms_order_hdr_rejects: 4"):
        wh.run(msgs, load_method="upsert", business_rules=RULES)
    assert sorted(wh.live()) == [1]
    rejects = dict(wh.query("SELECT record_key, reason FROM wms_order_hdr_rejects"))
    assert rejects["[2]"] == "business rule failed: qty >= 0"
    assert rejects["[3]"] == "business rule failed: mod_ts >= create_ts"
    assert rejects["[4]"].startswith("schema:")
    assert "not a date-time" in rejects["[5]"]
    assert wh.query("SELECT DISTINCT stream FROM wms_order_hdr_rejects") == [("order_hdr",)]
    assert wh.audit()[-1][7] == 4


def test_within_max_rejects_the_run_succeeds(wh):
    states = wh.run([schema_msg(), rec(1, ts(1), qty=-5), {"type": "STATE", "value": {"a": 1}}],
                    load_method="upsert", business_rules=RULES, max_rejects=1)
    assert states == [{"a": 1}]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_rejects") == [(1,)]


@pytest.mark.parametrize("src", ["__import__('os').system('x')", "a.b > 1", "f(x)",
                                 "x + 1 > 2", "x is 3", "[x]"])
def test_rules_reject_anything_but_the_safe_subset(src):
    with pytest.raises(RuleError):
        compile_rule(src)


def test_rule_semantics():
    rule = compile_rule("alloc_qty >= 0 and (order_id is not None or not flag)")
    assert rule({"alloc_qty": 1, "order_id": 3})
    assert not rule({"alloc_qty": None, "order_id": 3})  # comparison with null is false
    assert rule({"alloc_qty": 0, "flag": False})
    assert not rule({"alloc_qty": 0, "flag": True})
    assert compile_rule("-1 < x < 5")({"x": 2})
