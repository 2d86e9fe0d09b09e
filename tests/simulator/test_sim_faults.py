"""Fault injection: throttling, 5xx, drops, truncation, sequences and probabilities."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from wms_simulator.testing import running_simulator


def get(sim: Any, **params: Any) -> requests.Response:
    return requests.get(
        sim.entity_url("order_hdr"), params=params, auth=(sim.username, sim.password), timeout=30
    )


def test_fixed_sequence_in_order() -> None:
    seq = ["ok", "429", "500", "502", "503", "drop", "truncate", "ok"]
    with running_simulator(scale=200, seed=1, faults={"sequence": seq, "retry_after": 2}) as sim:
        assert get(sim).status_code == 200
        throttled = get(sim)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
        assert set(throttled.json()) == {"reference", "code", "message", "details"}
        assert get(sim).status_code == 500
        assert get(sim).status_code == 502
        assert get(sim).status_code == 503
        with pytest.raises(requests.exceptions.ConnectionError):
            get(sim)
        with pytest.raises(requests.exceptions.RequestException):
            resp = get(sim)
            resp.json()  # if the cut body got through, it is not valid JSON
        assert get(sim).status_code == 200
        assert get(sim).status_code == 200  # sequence used up -> no more faults
        # describe and /_sim/* are not faulted unless asked
        sim.set_faults(sequence=["500"])
        assert requests.get(f"{sim.base_url}/_sim/stats", timeout=30).status_code == 200
        assert (
            requests.get(
                f"{sim.entity_url('order_hdr')}describe/",
                auth=(sim.username, sim.password),
                timeout=30,
            ).status_code
            == 200
        )
        assert get(sim).status_code == 500
        faults = sim.stats()["faults"]
        assert faults["429"] == 1 and faults["drop"] == 1 and faults["truncate"] == 1
        assert faults["500"] == 2


def test_truncated_body_is_incomplete() -> None:
    with running_simulator(scale=200, seed=1, faults={"sequence": ["truncate"]}) as sim:
        resp = requests.get(
            sim.entity_url("order_hdr"), auth=(sim.username, sim.password), stream=True, timeout=30
        )
        assert resp.status_code == 200
        announced = int(resp.headers["Content-Length"])
        got = b""
        with pytest.raises(requests.exceptions.RequestException):
            for chunk in resp.iter_content(1024):
                got += chunk
        assert len(got) < announced


def test_probabilities_are_seeded_and_slow_answers_wait() -> None:
    config = {"probabilities": {"429": 0.3, "503": 0.2}, "seed": 42}

    def statuses() -> list[int]:
        with running_simulator(scale=200, seed=1, faults=config) as sim:
            return [get(sim, page_size=1).status_code for _ in range(40)]

    first = statuses()
    assert first == statuses()
    assert {200, 429, 503} <= set(first)
    with running_simulator(scale=200, seed=1) as sim:
        r = requests.post(
            f"{sim.base_url}/_sim/faults",
            json={"sequence": ["slow"], "slow_seconds": 0.3},
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["remaining_sequence"] == ["slow"]
        resp = get(sim)
        assert resp.status_code == 200 and resp.elapsed.total_seconds() >= 0.3
        bad = requests.post(f"{sim.base_url}/_sim/faults", json={"sequence": ["boom"]}, timeout=30)
        assert bad.status_code == 400


def test_page_delay() -> None:
    with running_simulator(scale=200, seed=1, page_delay=0.2) as sim:
        assert get(sim).elapsed.total_seconds() >= 0.2


def test_stats_count_requests_per_entity_and_mode() -> None:
    with running_simulator(scale=200, seed=1) as sim:
        get(sim)
        get(sim, page_mode="sequenced")
        requests.get(
            f"{sim.entity_url('order_hdr')}1/", auth=(sim.username, sim.password), timeout=30
        )
        stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=30).json()
        assert stats["requests"]["order_hdr"] == {"paged": 1, "sequenced": 1, "record": 1}
        assert stats["total"] == 3 and len(stats["log"]) == 3
