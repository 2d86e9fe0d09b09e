"""Auth, describe, catalogue, single records, determinism and the 1M scale."""

from __future__ import annotations

import time
from typing import Any

import requests

from wms_simulator.model import MAIN_ENTITIES
from wms_simulator.testing import SimulatorHandle, running_simulator


def test_basic_auth(sim: SimulatorHandle, error_body: Any) -> None:
    url = sim.entity_url("order_hdr")
    assert requests.get(url, auth=(sim.username, sim.password), timeout=30).status_code == 200
    resp = requests.get(url, timeout=30)
    error_body(resp, 401)
    assert "WWW-Authenticate" in resp.headers
    error_body(requests.get(url, auth=(sim.username, "wrong"), timeout=30), 401)
    error_body(requests.get(url, auth=("nobody", "x"), timeout=30), 401)
    error_body(requests.get(url, auth=("wms_noaccess", "wms_noaccess_password"), timeout=30), 403)


def test_oauth_token_issue_and_expiry(error_body: Any) -> None:
    with running_simulator(scale=100, seed=1, token_ttl=0.5) as sim:
        url = sim.entity_url("order_hdr")
        resp = requests.post(
            sim.token_url,
            auth=(sim.client_id, sim.client_secret),
            data={
                "grant_type": "client_credentials",
                "scope": "urn:resource:fusion:scm:logistics:wms:lgfapi/",
            },
            timeout=30,
        )
        assert resp.status_code == 200
        token = resp.json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 0.5
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        assert requests.get(url, headers=auth, timeout=30).status_code == 200
        time.sleep(0.7)
        error_body(requests.get(url, headers=auth, timeout=30), 401)
        error_body(requests.get(url, headers={"Authorization": "Bearer forged"}, timeout=30), 401)
        form = requests.post(
            sim.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
            timeout=30,
        )
        assert form.status_code == 200
        bad = requests.post(
            sim.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": "nope",
            },
            timeout=30,
        )
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_describe_shapes(sim: SimulatorHandle, http: requests.Session) -> None:
    alloc = http.get(f"{sim.entity_url('allocation')}describe/", timeout=30).json()
    assert set(alloc) == {"parameters", "fields"}
    assert len(alloc["fields"]) == 24
    assert alloc["fields"]["mod_ts"]["default"] == "now"
    assert alloc["fields"]["create_ts"] == {"type": "datetime", "required": True, "default": "now"}
    assert alloc["fields"]["pick_user"]["max_length"] == 30
    assert alloc["fields"]["pick_locn_str"]["max_length"] == 100
    assert alloc["fields"]["alloc_qty"]["type"] == "decimal"
    assert alloc["fields"]["is_picking_flg"]["type"] == "boolean"
    hdr = http.get(f"{sim.entity_url('order_hdr')}describe", timeout=30).json()
    dtl = http.get(f"{sim.entity_url('order_dtl')}describe/", timeout=30).json()
    assert len(hdr["fields"]) >= 60 and len(dtl["fields"]) >= 40
    assert {
        "cust_field_5",
        "cust_date_5",
        "cust_decimal_5",
        "cust_number_5",
        "cust_short_text_12",
        "cust_long_text_3",
    } <= set(hdr["fields"])
    assert hdr["fields"]["facility_id"]["type"] == "relation"
    assert hdr["parameters"] == list(hdr["fields"])


def test_records_match_describe(sim: SimulatorHandle, http: requests.Session) -> None:
    for name in MAIN_ENTITIES:
        fields = http.get(f"{sim.entity_url(name)}describe/", timeout=30).json()["fields"]
        rec = http.get(sim.entity_url(name), timeout=30).json()["results"][0]
        assert [k for k in rec if k != "url" and not k.endswith("_set")] == list(fields)
        assert rec["url"] == f"{sim.entity_url(name)}{rec['id']}/"
        for key, spec in fields.items():
            value = rec[key]
            if value is None:
                continue
            if key.endswith("_id") and key != "status_id":
                assert set(value) == {"id", "key", "url"}
            elif spec["type"] == "decimal":
                assert isinstance(value, str) and "." in value
            elif spec["type"] == "boolean":
                assert isinstance(value, bool)
            elif spec["type"] == "datetime":
                assert len(value) == 32 and value[-6:] in ("-03:00", "+01:00")
            elif spec["type"] == "integer":
                assert isinstance(value, int)
    hdr = http.get(sim.entity_url("order_hdr"), timeout=30).json()["results"][0]
    child = hdr["order_dtl_set"]
    assert child["result_count"] == 3
    dtl = http.get(child["url"], auth=(sim.username, sim.password), timeout=30).json()
    assert dtl["result_count"] == 3


def test_catalogue_and_single_record(
    sim: SimulatorHandle, http: requests.Session, error_body: Any
) -> None:
    cat = http.get(sim.api_url, timeout=30).json()
    assert list(cat) == sorted(cat) and len(cat) >= 50
    assert cat["order_hdr"] == sim.entity_url("order_hdr")
    for name in (
        "order_hdr",
        "order_dtl",
        "allocation",
        "facility",
        "company",
        "item",
        "location",
        "inventory",
    ):
        assert name in cat
    rec = http.get(f"{sim.entity_url('order_dtl')}5/", timeout=30).json()
    assert rec == sim.store.record("order_dtl", 5)
    error_body(http.get(f"{sim.entity_url('order_dtl')}999999/", timeout=30), 404)
    error_body(http.get(sim.entity_url("no_such_entity"), timeout=30), 404)
    error_body(http.get(sim.entity_url("container"), timeout=30), 404)  # catalogued, empty
    assert http.get(f"{sim.entity_url('container')}describe/", timeout=30).status_code == 200
    wrong_env = sim.base_url.rsplit("/", 1)[0] + "/prod/wms/lgfapi/v10/entity/"
    error_body(http.get(wrong_env, timeout=30), 404)


def test_same_seed_same_data_other_seed_other_data() -> None:
    def dump(seed: int) -> list[Any]:
        with running_simulator(scale=300, seed=seed) as sim:
            s = requests.Session()
            s.auth = (sim.username, sim.password)
            body = s.get(sim.entity_url("order_dtl"), params={"page_size": 50}, timeout=30).json()
            # URLs embed the port; compare everything else.
            return [
                {k: v for k, v in r.items() if k != "url" and not isinstance(v, dict)}
                for r in body["results"]
            ]

    assert dump(11) == dump(11)
    assert dump(11) != dump(12)


def test_scale_one_million_serves_hot_queries() -> None:
    with running_simulator(scale=1_000_000, seed=3) as sim:
        s = requests.Session()
        s.auth = (sim.username, sim.password)
        assert sim.store.counts["allocation"] == 600_000
        last = s.get(
            sim.entity_url("allocation"),
            params={"page_size": 1000, "page": 600, "ordering": "id"},
            timeout=60,
        )
        body = last.json()
        assert body["result_count"] == 600_000 and body["page_count"] == 600
        assert body["results"][-1]["id"] == 600_000 and body["next_page"] is None
        seq = s.get(
            sim.entity_url("order_hdr"),
            params={
                "page_mode": "sequenced",
                "page_size": 1000,
                "id__gt": 99_500,
                "ordering": "id",
            },
            timeout=60,
        ).json()
        assert [r["id"] for r in seq["results"]] == list(range(99_501, 100_001))
        recent = s.get(
            sim.entity_url("order_dtl"),
            params={
                "mod_ts__gte": "2025-06-29T00:00:00-03:00",
                "ordering": "mod_ts,id",
                "page_size": 1250,
            },
            timeout=60,
        ).json()
        assert 0 < recent["result_count"] < 300_000
        sim.apply_changes(update=3, insert=2, delete=1)
        tail = s.get(
            sim.entity_url("order_dtl"),
            params={"mod_ts__gte": "2025-06-30T12:00:00Z", "ordering": "mod_ts,id"},
            timeout=60,
        ).json()
        assert tail["result_count"] == 5
