"""Production latency: per-request/per-record/sort costs, the 504 gateway, the concurrency gate.

Costs are read back from the stats log (what the simulator charged), concurrency from the
stats' peak: nothing here asserts how long something took, except the lower bound a 504 must
respect (it answers only after waiting the gateway's limit).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from wms_simulator.testing import SimulatorHandle, running_simulator

INSTANT = {
    "per_request": 0.0,
    "per_record": 0.0,
    "sort_per_row": 0.0,
    "gateway_seconds": None,
    "max_concurrent": None,
}


def _last_cost(sim: SimulatorHandle) -> float:
    return float(sim.stats()["log"][-1]["cost"])


def _get(sim: SimulatorHandle, entity: str, **params: Any) -> requests.Response:
    return requests.get(
        sim.entity_url(entity), params=params, auth=(sim.username, sim.password), timeout=60
    )


def test_defaults_are_instant(sim: SimulatorHandle) -> None:
    assert requests.get(f"{sim.base_url}/_sim/latency", timeout=30).json() == INSTANT
    assert _get(sim, "order_dtl", page_size=500, ordering="mod_ts").status_code == 200
    assert _last_cost(sim) == 0.0


def test_list_cost_grows_with_records_on_the_page() -> None:
    with running_simulator(scale=2000, latency={"per_request": 0.001, "per_record": 1e-5}) as sim:
        assert _get(sim, "order_dtl", page_size=10).status_code == 200
        small = _last_cost(sim)
        assert _get(sim, "order_dtl", page_size=300).status_code == 200
        large = _last_cost(sim)
        assert small == pytest.approx(0.001 + 10 * 1e-5)
        assert large == pytest.approx(0.001 + 300 * 1e-5)
        requests.get(f"{sim.entity_url('order_dtl')}describe/", auth=(sim.username, sim.password),
                     timeout=30).raise_for_status()
        assert _last_cost(sim) == pytest.approx(0.001)  # non-list requests: per_request only


def test_sort_cost_only_off_id_and_scales_with_the_match() -> None:
    with running_simulator(scale=2000, latency={"sort_per_row": 1e-6}) as sim:
        total = sim.store.counts["order_dtl"]
        for ordering in (None, "id", "-id"):
            params = {"page_size": 10} | ({"ordering": ordering} if ordering else {})
            assert _get(sim, "order_dtl", **params).status_code == 200
            assert _last_cost(sim) == 0.0, ordering
        assert _get(sim, "order_dtl", page_size=10, ordering="mod_ts").status_code == 200
        assert _last_cost(sim) == pytest.approx(total * 1e-6)
        # a narrower match sorts fewer rows, and every page of the query pays for the whole match
        first = _get(sim, "order_dtl", page_size=10, ordering="mod_ts", id__lte=100,
                     page_mode="sequenced")
        assert _last_cost(sim) == pytest.approx(100 * 1e-6)
        requests.get(first.json()["next_page"], auth=(sim.username, sim.password),
                     timeout=30).raise_for_status()
        assert _last_cost(sim) == pytest.approx(100 * 1e-6)


def test_gateway_answers_504_html_after_waiting_its_limit() -> None:
    latency = {"sort_per_row": 0.01, "gateway_seconds": 0.2}
    with running_simulator(scale=2000, latency=latency) as sim:
        assert _get(sim, "order_dtl", page_size=10, ordering="id").status_code == 200
        started = time.monotonic()
        resp = _get(sim, "order_dtl", page_size=10, ordering="mod_ts")
        waited = time.monotonic() - started
        assert resp.status_code == 504
        assert waited >= 0.2
        assert resp.headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            resp.json()
        stats = sim.stats()
        assert stats["gateway_timeouts"] == 1
        assert stats["statuses"]["504"] == 1


def test_max_concurrent_queues_the_rest() -> None:
    with running_simulator(scale=2000, latency={"per_request": 0.3, "max_concurrent": 2}) as sim:
        start = threading.Barrier(6)
        statuses: list[int] = []

        def one() -> None:
            start.wait()
            statuses.append(_get(sim, "order_hdr", page_size=5).status_code)

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        stats = sim.stats()
        assert statuses == [200] * 6
        assert stats["total"] == 6
        assert stats["peak_concurrent"] == 2
        assert stats["in_flight"] == 0


def test_set_latency_in_process_and_back_to_instant(sim: SimulatorHandle) -> None:
    try:
        profile = sim.set_latency(per_request=0.001, max_concurrent=3)
        assert profile == INSTANT | {"per_request": 0.001, "max_concurrent": 3}
        assert _get(sim, "order_hdr", page_size=5).status_code == 200
        assert _last_cost(sim) == pytest.approx(0.001)
    finally:
        assert sim.set_latency() == INSTANT
    assert _get(sim, "order_hdr", page_size=5).status_code == 200
    assert _last_cost(sim) == 0.0


def test_admin_endpoint_sets_and_rejects(sim: SimulatorHandle) -> None:
    url = f"{sim.base_url}/_sim/latency"
    try:
        body = {"per_request": 0.002, "per_record": 0.0, "gateway_seconds": 2, "max_concurrent": 8}
        resp = requests.post(url, json=body, timeout=30)
        assert resp.status_code == 200
        expected = INSTANT | {"per_request": 0.002, "gateway_seconds": 2.0, "max_concurrent": 8}
        assert requests.get(url, timeout=30).json() == expected
        assert _get(sim, "order_hdr", page_size=5).status_code == 200
        assert _last_cost(sim) == pytest.approx(0.002)
        bad = requests.post(url, json={"per_requests": 1}, timeout=30)
        assert bad.status_code == 400 and "per_requests" in bad.json()["message"]
        neg = requests.post(url, json={"max_concurrent": -1}, timeout=30)
        assert neg.status_code == 400 and "max_concurrent" in neg.json()["message"]
        assert requests.get(url, timeout=30).json() == expected  # a rejected body changes nothing
    finally:
        assert requests.post(url, json={}, timeout=30).json() == INSTANT


def test_cli_flags_set_the_profile() -> None:
    cli = [sys.executable, "-m", "wms_simulator.cli"]
    proc = subprocess.Popen(
        [*cli, "serve", "--port", "0", "--scale", "200",
         "--latency-per-request", "0.05", "--latency-per-record", "0.0005",
         "--sort-cost-per-row", "0.00002", "--gateway-seconds", "2", "--max-concurrent", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        url = f"{base}/_sim/latency"
        assert requests.get(url, timeout=30).json() == {
            "per_request": 0.05, "per_record": 0.0005, "sort_per_row": 0.00002,
            "gateway_seconds": 2.0, "max_concurrent": 8,
        }
        subprocess.run([*cli, "latency", "--base-url", base, "--max-concurrent", "2"],
                       capture_output=True, timeout=60, check=True)
        assert requests.get(url, timeout=30).json() == INSTANT | {"max_concurrent": 2}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
