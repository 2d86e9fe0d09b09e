"""Both page modes, page sizes, links and 404-on-empty."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from wms_simulator.testing import SimulatorHandle


def test_paged_walk_visits_every_id_once(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    recs = walk(http, sim.entity_url("order_dtl"), {"page_size": 70, "ordering": "id"})
    ids = [r["id"] for r in recs]
    assert ids == sim.store.ids("order_dtl")
    assert len(ids) == len(set(ids)) == 600


def test_sequenced_walk_visits_every_id_once(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    for ordering in ("id", "mod_ts,id", "-id"):
        recs = walk(
            http,
            sim.entity_url("allocation"),
            {"page_mode": "sequenced", "page_size": 97, "ordering": ordering},
        )
        ids = [r["id"] for r in recs]
        assert sorted(ids) == sim.store.ids("allocation"), ordering
        assert len(ids) == len(set(ids))
        if ordering == "-id":
            assert ids == sorted(ids, reverse=True)


def test_paged_envelope_shape_and_default_size(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    body = http.get(sim.entity_url("order_hdr"), timeout=30).json()
    assert list(body) == [
        "result_count",
        "page_count",
        "page_nbr",
        "next_page",
        "previous_page",
        "results",
    ]
    assert body["result_count"] == 200 and body["page_count"] == 2 and body["page_nbr"] == 1
    assert len(body["results"]) == 100 and body["previous_page"] is None
    second = http.get(body["next_page"], timeout=30).json()
    assert second["page_nbr"] == 2 and second["next_page"] is None
    assert second["previous_page"].startswith(sim.base_url)


def test_sequenced_envelope_and_cursor(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    body = http.get(
        sim.entity_url("order_hdr"), params={"page_mode": "sequenced", "page_size": 50}, timeout=30
    ).json()
    assert list(body) == ["next_page", "previous_page", "results"]
    assert "cursor=" in body["next_page"]
    bad = http.get(
        sim.entity_url("order_hdr"),
        params={"page_mode": "sequenced", "cursor": "!!notacursor"},
        timeout=30,
    )
    error_body(bad, 400)


def test_page_size_is_clamped_to_1250(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    body = http.get(sim.entity_url("allocation"), params={"page_size": 5000}, timeout=30).json()
    assert len(body["results"]) == 1200  # scale 2000 -> 1200 allocations, all on one page
    body = http.get(sim.entity_url("allocation"), params={"page_size": 1250}, timeout=30).json()
    assert body["page_count"] == 1
    error_body(http.get(sim.entity_url("allocation"), params={"page_size": 0}, timeout=30), 400)


def test_next_page_preserves_params(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    params = {
        "status_id__in!": "99",
        "ordering": "mod_ts,id",
        "page_size": "10",
        "fields": "id,mod_ts,status_id",
        "mod_ts__gte": "2025-02-01T00:00:00+01:00",
    }
    for mode in ("paged", "sequenced"):
        body = http.get(
            sim.entity_url("order_dtl"), params={**params, "page_mode": mode}, timeout=30
        ).json()
        nxt = body["next_page"]
        assert nxt.startswith(sim.entity_url("order_dtl"))
        got = {k: v[-1] for k, v in parse_qs(urlsplit(nxt).query).items()}
        for k, v in params.items():
            assert got[k] == v, (mode, k)
        assert set(body["results"][0]) == {"id", "mod_ts", "status_id"}


def test_paged_pages_beyond_the_end_and_empty_filters_are_404(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    error_body(http.get(sim.entity_url("order_hdr"), params={"page": 3}, timeout=30), 404)
    for mode in ("paged", "sequenced"):
        resp = http.get(
            sim.entity_url("order_hdr"), params={"id__gt": 10**9, "page_mode": mode}, timeout=30
        )
        body = error_body(resp, 404)
        assert body["code"] == "NOT_FOUND"


def test_mod_ts_paging_is_by_instant(
    sim: SimulatorHandle, http: requests.Session, walk: Any, error_body: Any
) -> None:
    recs = walk(
        http,
        sim.entity_url("order_hdr"),
        {"ordering": "mod_ts,id", "page_size": 33, "page_mode": "sequenced"},
    )
    from datetime import datetime

    keys = [(datetime.fromisoformat(r["mod_ts"]), r["id"]) for r in recs]
    assert keys == sorted(keys)
    offsets = {r["mod_ts"][-6:] for r in recs}
    assert offsets == {"-03:00", "+01:00"}
