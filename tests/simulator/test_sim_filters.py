"""Filters (every lookup family, relations, negation), ordering, fields, and 400s."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import requests

from wms_simulator.testing import SimulatorHandle


def query(
    http: requests.Session, sim: SimulatorHandle, entity: str, **params: Any
) -> list[dict[str, Any]]:
    """All matching records (one big page), or [] on the 404 that means 'nothing matched'."""
    resp = http.get(sim.entity_url(entity), params={"page_size": 1250, **params}, timeout=30)
    if resp.status_code == 404:
        return []
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["page_count"] <= 1
    return body["results"]


def ids_where(sim: SimulatorHandle, entity: str, pred: Any) -> list[int]:
    return [r["id"] for r in sim.truth(entity) if pred(r)]


def inst(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


FILTERS: list[tuple[str, str, dict[str, str], Any]] = [
    ("order_hdr", "plain", {"status_id": "90"}, lambda r: r["status_id"] == 90),
    ("order_hdr", "gt", {"id__gt": "150"}, lambda r: r["id"] > 150),
    ("order_hdr", "gte+lte", {"id__gte": "10", "id__lte": "20"}, lambda r: 10 <= r["id"] <= 20),
    (
        "order_hdr",
        "lt",
        {"priority__lt": "10"},
        lambda r: r["priority"] is not None and r["priority"] < 10,
    ),
    ("order_hdr", "in", {"status_id__in": "10,20"}, lambda r: r["status_id"] in (10, 20)),
    ("order_hdr", "not in", {"status_id__in!": "90,99"}, lambda r: r["status_id"] not in (90, 99)),
    ("order_hdr", "range", {"id__range": "5,9"}, lambda r: 5 <= r["id"] <= 9),
    ("order_hdr", "isnull", {"exp_date__isnull": "true"}, lambda r: r["exp_date"] is None),
    ("order_hdr", "not null", {"exp_date__isnull": "false"}, lambda r: r["exp_date"] is not None),
    ("order_hdr", "exact text", {"cust_city": "Porto"}, lambda r: r["cust_city"] == "Porto"),
    ("order_hdr", "iexact", {"cust_city__iexact": "porto"}, lambda r: r["cust_city"] == "Porto"),
    (
        "order_hdr",
        "contains",
        {"cust_name__contains": "Mart"},
        lambda r: r["cust_name"] is not None and "Mart" in r["cust_name"],
    ),
    (
        "order_hdr",
        "icontains",
        {"cust_name__icontains": "mart"},
        lambda r: r["cust_name"] is not None and "mart" in r["cust_name"].lower(),
    ),
    (
        "order_hdr",
        "startswith",
        {"order_nbr__startswith": "ORD0000001"},
        lambda r: r["order_nbr"].startswith("ORD0000001"),
    ),
    (
        "order_hdr",
        "istartswith",
        {"order_nbr__istartswith": "ord0000001"},
        lambda r: r["order_nbr"].startswith("ORD0000001"),
    ),
    ("order_hdr", "endswith", {"order_nbr__endswith": "7"}, lambda r: r["order_nbr"][-1] == "7"),
    (
        "order_hdr",
        "iendswith",
        {"cust_email__iendswith": "EXAMPLE.COM"},
        lambda r: r["cust_email"] is not None,
    ),
    ("order_hdr", "fk id", {"facility_id": "2"}, lambda r: r["facility_id"]["id"] == 2),
    (
        "order_hdr",
        "fk relation",
        {"facility_id__code": "FAC1"},
        lambda r: r["facility_id"]["id"] == 1,
    ),
    (
        "order_hdr",
        "fk key",
        {"company_id__key": "ACME"},
        lambda r: r["company_id"]["key"] == "ACME",
    ),
    ("order_hdr", "bool", {"is_back_order_flg": "true"}, lambda r: r["is_back_order_flg"]),
    (
        "order_hdr",
        "decimal",
        {"total_orig_ord_qty__gte": "500.5"},
        lambda r: Decimal(r["total_orig_ord_qty"]) >= Decimal("500.5"),
    ),
    (
        "order_hdr",
        "date",
        {"ord_date__lt": "2025-01-01"},
        lambda r: r["ord_date"] is not None and r["ord_date"] < "2025-01-01",
    ),
    (
        "order_hdr",
        "year",
        {"ord_date__year": "2025"},
        lambda r: r["ord_date"] is not None and r["ord_date"].startswith("2025"),
    ),
    ("order_hdr", "month", {"mod_ts__month": "3"}, lambda r: inst(r["mod_ts"]).month == 3),
    ("order_hdr", "day", {"mod_ts__day": "15"}, lambda r: inst(r["mod_ts"]).day == 15),
    ("order_hdr", "hour", {"mod_ts__hour": "5"}, lambda r: inst(r["mod_ts"]).hour == 5),
    (
        "order_hdr",
        "week_day",
        {"mod_ts__week_day": "1"},
        lambda r: inst(r["mod_ts"]).isoweekday() == 7,
    ),
    (
        "order_dtl",
        "fk across",
        {"order_id__facility_id__code": "FAC2"},
        lambda r: r["mod_ts"].endswith("+01:00"),
    ),
    ("order_dtl", "neq", {"status_id!": "90"}, lambda r: r["status_id"] != 90),
]


@pytest.mark.parametrize(
    ("entity", "label", "params", "pred"), FILTERS, ids=[f[1] for f in FILTERS]
)
def test_filter_matches_truth(
    sim: SimulatorHandle,
    http: requests.Session,
    entity: str,
    label: str,
    params: dict[str, str],
    pred: Any,
) -> None:
    got = sorted(r["id"] for r in query(http, sim, entity, **params))
    want = ids_where(sim, entity, pred)
    assert got == want
    assert want, f"filter {label} matches nothing: the test would prove little"


def test_datetime_filters_compare_instants(sim: SimulatorHandle, http: requests.Session) -> None:
    recs = list(sim.truth("order_hdr"))
    pivot = inst(recs[100]["mod_ts"])
    want = [r["id"] for r in recs if inst(r["mod_ts"]) >= pivot]
    for text in (
        pivot.isoformat(),
        pivot.astimezone(timezone(timedelta(hours=1))).isoformat(),
        pivot.astimezone(timezone(timedelta(hours=-3))).replace(tzinfo=None).isoformat(),
    ):  # naive -> the default facility's zone (-03:00)
        got = [
            r["id"] for r in query(http, sim, "order_hdr", mod_ts__gte=text, ordering="mod_ts,id")
        ]
        assert sorted(got) == sorted(want), text
    gt = [r["id"] for r in query(http, sim, "order_hdr", mod_ts__gt=pivot.isoformat())]
    assert recs[100]["id"] not in gt


def test_ordering_and_fields(sim: SimulatorHandle, http: requests.Session) -> None:
    recs = query(http, sim, "order_hdr", ordering="-priority,id", fields="id,priority")
    assert all(set(r) == {"id", "priority"} for r in recs)
    keyed = [(-(r["priority"] or 0), r["id"]) for r in recs if r["priority"] is not None]
    assert keyed == sorted(keyed)
    by_decimal = query(
        http, sim, "order_hdr", ordering="total_orig_ord_qty", fields="id,total_orig_ord_qty"
    )
    values = [Decimal(r["total_orig_ord_qty"]) for r in by_decimal]
    assert values == sorted(values)
    desc = query(http, sim, "order_hdr", ordering="-mod_ts")
    stamps = [inst(r["mod_ts"]) for r in desc]
    assert stamps == sorted(stamps, reverse=True)


def test_values_list_and_last_param_wins(sim: SimulatorHandle, http: requests.Session) -> None:
    resp = http.get(
        f"{sim.entity_url('order_hdr')}?id__lte=999&id__lte=3&values_list=id,order_nbr", timeout=30
    )
    assert resp.json()["results"] == [[1, "ORD00000001"], [2, "ORD00000002"], [3, "ORD00000003"]]


@pytest.mark.parametrize(
    "params",
    [
        {"nope": "1"},
        {"id__nope": "1"},
        {"id__gt": "abc"},
        {"mod_ts__gte": "yesterday"},
        {"status_id__range": "1"},
        {"ordering": "nope"},
        {"fields": "id,nope"},
        {"facility_id__nope": "x"},
        {"cust_city__year": "2025"},
        {"page_mode": "weird"},
        {"page": "0"},
        {"is_back_order_flg": "maybe"},
    ],
)
def test_bad_filters_are_400(
    sim: SimulatorHandle, http: requests.Session, error_body: Any, params: dict[str, str]
) -> None:
    body = error_body(http.get(sim.entity_url("order_hdr"), params=params, timeout=30), 400)
    assert body["code"] == "VALIDATION_ERROR"
