"""In-process tests of the pure pieces: describe mapping, flattening, UTC, settings,
backoff, message writing."""

from __future__ import annotations

import io
import sys
from decimal import Decimal

import pytest
from singer_sdk.singerlib.encoding.simple import RecordMessage, StateMessage

from tap_oracle_wms.client import RetryPolicy, Throttle, parse_retry_after
from tap_oracle_wms.records import RecordPlan, to_utc
from tap_oracle_wms.schema import describe_to_schema, normalise_type
from tap_oracle_wms.settings import check_entities, check_settings
from tap_oracle_wms.writer import WMSMessageWriter

DESCRIBE = {
    "parameters": ["id", "mod_ts"],
    "fields": {
        "id": {"type": "integer", "required": True},
        "mod_ts": {"type": "datetime", "default": "now"},
        "create_ts": {"type": "SomethingNew"},
        "facility_id": {"type": "relation"},
        "order_dtl_id": {"type": "integer"},  # a tenant spelling FKs as integers
        "status_id": {"type": "integer"},
        "alloc_qty": {"type": "decimal"},
        "ord_date": {"type": "date"},
        "pick_user": {"type": "text", "max_length": 30},
        "is_picking_flg": {"type": "boolean"},
        "weird": {"type": "hologram"},
        "order_dtl_set": {"type": "one_to_many"},
        "url": {"type": "text"},
    },
}


def test_describe_to_schema_types_formats_and_fks() -> None:
    props = describe_to_schema(DESCRIBE)["properties"]
    assert props["id"] == {"type": ["integer"]}
    assert props["mod_ts"]["format"] == "date-time"
    assert props["create_ts"]["format"] == "date-time"
    assert props["ord_date"] == {"type": ["string", "null"], "format": "date"}
    assert props["facility_id"] == {"type": ["integer", "null"]}
    assert props["facility_id_key"] == {"type": ["string", "null"]}
    assert props["order_dtl_id_key"] == {"type": ["string", "null"]}
    assert props["status_id"] == {"type": ["integer", "null"]}
    assert "status_id_key" not in props
    assert props["alloc_qty"] == {"type": ["number", "null"]}
    assert props["pick_user"]["maxLength"] == 30
    assert props["is_picking_flg"]["type"] == ["boolean", "null"]
    assert props["weird"] == {"type": ["string", "null"]}
    assert "order_dtl_set" not in props
    assert "url" not in props


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("DateTimeField", "datetime"),
        ("date_time", "datetime"),
        ("ForeignKey", "fk"),
        ("DecimalField", "decimal"),
        ("CharField", "string"),
        ("", "string"),
    ],
)
def test_normalise_type(raw: str, kind: str) -> None:
    assert normalise_type(raw) == kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-05-31T19:57:42.738709-03:00", "2025-05-31T22:57:42.738709+00:00"),
        ("2025-05-31T23:30:00+05:30", "2025-05-31T18:00:00.000000+00:00"),
        ("2025-05-31T18:00:00Z", "2025-05-31T18:00:00.000000+00:00"),
        ("2025-05-31T18:00:00.5+00:00", "2025-05-31T18:00:00.500000+00:00"),
        ("2025-05-31T18:00:00.123456+00:00", "2025-05-31T18:00:00.123456+00:00"),
        ("2025-05-31T18:00:00", "2025-05-31T18:00:00.000000+00:00"),
    ],
)
def test_to_utc_fixed_form(value: str, expected: str) -> None:
    assert to_utc(value) == expected


def test_record_plan_flattens_both_fk_readings_and_keeps_decimals_exact() -> None:
    plan = RecordPlan(describe_to_schema(DESCRIBE)["properties"])
    raw = {
        "id": 7,
        "url": "http://x/allocation/7/",
        "mod_ts": "2025-05-31T19:57:42.738709-03:00",
        "create_ts": None,
        "facility_id": {"id": 3, "key": "FAC1", "url": "http://x/facility/3/"},
        "order_dtl_id": 44,  # bare id: still flattened, key unknown
        "status_id": 10,
        "alloc_qty": "12.500",
        "ord_date": "2025-05-31",
        "order_dtl_set": {"result_count": 2, "url": "http://x"},
        "unexpected": 1,
    }
    out = plan.flatten(raw)
    assert out == {
        "id": 7,
        "mod_ts": "2025-05-31T22:57:42.738709+00:00",
        "create_ts": None,
        "facility_id": 3,
        "facility_id_key": "FAC1",
        "order_dtl_id": 44,
        "order_dtl_id_key": None,
        "status_id": 10,
        "alloc_qty": Decimal("12.500"),
        "ord_date": "2025-05-31",
    }
    assert str(out["alloc_qty"]) == "12.500"
    assert plan.flatten({"id": 1, "facility_id": None}) == {
        "id": 1,
        "facility_id": None,
        "facility_id_key": None,
    }


def test_record_plan_respects_selection() -> None:
    props = describe_to_schema(DESCRIBE)["properties"]
    plan = RecordPlan({k: v for k, v in props.items() if k in {"id", "facility_id"}})
    out = plan.flatten({"id": 1, "facility_id": {"id": 2, "key": "K"}, "alloc_qty": "1"})
    assert out == {"id": 1, "facility_id": 2}


GOOD = {"base_url": "https://ta29.wms.ocs.oraclecloud.com/acme", "username": "u", "password": "p"}


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"base_url": "ta29.wms.ocs.oraclecloud.com"}, "not a valid http(s) URL"),
        ({"base_url": "https://x.example/acme/wms/lgfapi/v10"}, "without the API path"),
        ({"password": None}, "needs setting 'password'"),
        ({"auth_method": "oauth2"}, "needs setting 'oauth_token_url'"),
        ({"entity_filters": {"item": {"code": "A"}}}, "not in entities"),
    ],
)
def test_check_settings_rejects(patch: dict, fragment: str) -> None:
    config = {**GOOD, **patch}
    errors = check_settings({k: v for k, v in config.items() if v is not None})
    assert any(fragment in e for e in errors), errors


def test_check_settings_accepts_good_config() -> None:
    assert check_settings(GOOD) == []
    assert check_entities(["order_hdr"], {"order_hdr"}) == []
    assert "unknown entity 'nope'" in check_entities(["nope"], {"order_hdr"})[0]


def test_backoff_grows_and_honours_retry_after() -> None:
    policy = RetryPolicy(5, 1.0, Throttle(None))
    for attempt in range(4):
        assert 2**attempt / 2 <= policy.delay(attempt, None) <= 2**attempt
    assert policy.delay(0, 7.0) >= 7.0
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None


def test_writer_emits_exact_decimals_and_flushes_non_records(monkeypatch: pytest.MonkeyPatch):
    buffer = io.BytesIO()

    class FakeStdout:
        def __init__(self) -> None:
            self.buffer = buffer

    monkeypatch.setattr(sys, "stdout", FakeStdout())
    writer = WMSMessageWriter()
    writer.write_message(
        RecordMessage(stream="s", record={"id": 1, "q": Decimal("12.500")}, version=5)
    )
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    lines = buffer.getvalue().decode().splitlines()
    assert lines[0] == '{"type":"RECORD","stream":"s","record":{"id":1,"q":12.500},"version":5}'
    assert lines[1] == '{"type":"STATE","value":{"bookmarks":{}}}'


def test_record_plan_fast_path_matches_general_path() -> None:
    plan = RecordPlan(describe_to_schema(DESCRIBE)["properties"])
    shape = {
        "id": 1,
        "url": "u",
        "mod_ts": "2025-05-31T19:57:42.738709-03:00",
        "facility_id": {"id": 3, "key": "FAC1", "url": "u"},
        "order_dtl_id": None,
        "alloc_qty": "1.50",
        "order_dtl_set": None,
    }
    expected = plan.flatten_any(dict(shape))
    assert plan.flatten(dict(shape)) == expected  # compiles the fast path
    assert plan.flatten(dict(shape)) == expected  # takes it
    assert plan.flatten({**shape, "facility_id": 9, "alloc_qty": None}) == {
        **expected,
        "facility_id": 9,
        "facility_id_key": None,
        "alloc_qty": None,
    }
    assert plan.flatten({"id": 2, "surprise": 1}) == {"id": 2}  # other shape: general path
