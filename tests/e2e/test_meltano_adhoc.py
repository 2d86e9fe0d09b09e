"""What a user does by hand: discover, about, and an ad-hoc load of one entity."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import wms_truth

pytestmark = pytest.mark.e2e


def test_discover_and_about(project) -> None:
    catalog = json.loads(project.meltano("invoke", "tap-oracle-wms", "--discover").stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert {"allocation", "order_hdr", "order_dtl"} <= set(streams)
    props = streams["order_hdr"]["schema"]["properties"]
    assert props["facility_id"]["type"][0] == "integer" and "facility_id_key" in props
    assert streams["order_hdr"]["key_properties"] == ["id"]

    about = project.meltano("invoke", "tap-oracle-wms", "--about", "--format", "json").stdout
    settings = json.loads(about)["settings"]["properties"]
    assert settings["password"].get("secret") is True
    assert "wms_dev_password" not in about


def test_adhoc_load_of_one_entity_with_a_filter(project, simulator) -> None:
    project.env["TAP_ORACLE_WMS_ENTITIES"] = '["order_hdr"]'
    project.env["TAP_ORACLE_WMS_ENTITY_FILTERS"] = '{"order_hdr": {"facility_id__code": "FAC1"}}'
    project.meltano("run", "tap-oracle-wms", "target-oracle")

    expected = {
        rec["id"]
        for rec in simulator.truth("order_hdr")
        if rec["facility_id"] and rec["facility_id"]["key"] == "FAC1"
    }
    assert expected and len(expected) < len(wms_truth(simulator, "order_hdr"))
    loaded = {row[0] for row in project.query("SELECT id FROM WMS_ORDER_HDR")}
    assert loaded == expected
    tables = {row[0].lower() for row in project.query("SELECT name FROM sqlite_master")}
    assert "wms_allocation" not in tables
