"""Hostile mode: one switch per quirk, by HTTP (`/_sim/hostile`) and in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from wms_simulator.hostile import HOSTILE_VALUES, MAINTENANCE_HTML
from wms_simulator.testing import running_simulator


def get(sim: Any, **params: Any) -> requests.Response:
    params = {"page_mode": "sequenced", "ordering": "id", "page_size": 10, **params}
    return requests.get(sim.entity_url("order_hdr"), params=params,
                        auth=(sim.username, sim.password), timeout=30)


def test_off_by_default_and_switched_by_http() -> None:
    with running_simulator(scale=200, seed=1) as sim:
        admin = f"{sim.base_url}/_sim/hostile"
        before = get(sim).content
        state = requests.get(admin, timeout=10).json()
        assert not state["foreign_next_page"] and state["values_every"] == 0
        assert state["values"] == [v.name for v in HOSTILE_VALUES]
        bad = requests.post(admin, json={"nope": 1}, timeout=10)
        assert bad.status_code == 400 and "nope" in bad.text
        on = requests.post(admin, json={"foreign_next_page": True, "html_answers": 1},
                           timeout=10).json()
        origin = on["foreign_origin"]["origin"]
        html = get(sim)
        assert html.status_code == 200 and html.content == MAINTENANCE_HTML
        page = get(sim).json()
        assert page["next_page"].startswith(origin + "/dev/wms/lgfapi/v10/entity/order_hdr/")
        # The foreign origin records what it receives (the test client sends Basic there).
        requests.get(page["next_page"], auth=(sim.username, sim.password), timeout=10)
        seen = requests.get(admin, timeout=10).json()["foreign_origin"]
        assert seen["authorization_received"] == 1 and seen["schemes"] == ["Basic"]
        assert sim.password not in json.dumps(seen)  # counts only, never the header
        requests.post(admin, json={}, timeout=10)
        assert get(sim).content == before


def test_cut_answers_are_cut_once_each() -> None:
    with running_simulator(scale=200, seed=1) as sim:
        sim.set_hostile(cut_answers=1)
        with pytest.raises(requests.exceptions.RequestException):
            get(sim).json()
        assert get(sim).json()["results"]


def test_records_carry_the_hostile_values_as_a_python_server_writes_them() -> None:
    with running_simulator(scale=300, seed=1) as sim:
        sim.set_hostile(values_every=2)
        raw = get(sim, page_size=100).content
        assert b'"\\ud800 lone"' in raw  # the escape itself, not UTF-8
        assert str(10**40 + 7).encode() in raw
        assert b'"NaN"' in raw and b'"2025-13-45T99:00:00"' in raw
        body = json.loads(raw)  # the stdlib accepts it (a lone surrogate as a code point)
        planted = sim.app.hostile.planted(sim.store.entity("order_hdr"),
                                          [r["id"] for r in body["results"]])
        by_id = {r["id"]: r for r in body["results"]}
        assert planted
        for rid, (quirk, field) in planted.items():
            assert by_id[rid][field] == quirk.value
        # Other ids keep their values.
        truth = {r["id"]: r for r in sim.truth("order_hdr")}
        assert all(by_id[i] == truth[i] for i in by_id if i not in planted)
