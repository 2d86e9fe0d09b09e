"""The tap reads entities and id ranges concurrently, yet writes one valid Singer stream."""

from __future__ import annotations

import typing as t

import pytest
from tap_helpers import base_config, run_tap

sim_testing = pytest.importorskip("wms_simulator.testing")

MAIN = ["allocation", "order_hdr", "order_dtl"]


@pytest.fixture
def slow_sim() -> t.Iterator[t.Any]:
    """Every request takes a while and the server would serve 10 at once: only the tap's
    own limit keeps requests in flight down."""
    latency = {"per_request": 0.03, "per_record": 0.0005, "max_concurrent": 10}
    with sim_testing.running_simulator(scale=900, seed=17, latency=latency) as running:
        yield running


def test_parallel_full_sync_is_one_exact_snapshot_per_entity(slow_sim) -> None:
    config = base_config(slow_sim, entities=MAIN, page_size=30,
                         max_parallel_requests=3, min_partition_ids=60)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = slow_sim.stats()
    assert 1 < stats["peak_concurrent"] <= 3, "in flight must be > 1 and never above the setting"
    for entity in MAIN:
        ids = run.ids(entity)
        assert sorted(ids) == sorted(slow_sim.store.ids(entity)), f"{entity}: not exact"
        assert len(ids) == len(set(ids)), f"{entity}: an id twice"
        kinds = [(i, m["type"]) for i, m in enumerate(run.messages) if m.get("stream") == entity]
        first_record = next(i for i, k in kinds if k == "RECORD")
        last_record = max(i for i, k in kinds if k == "RECORD")
        schema_at = next(i for i, k in kinds if k == "SCHEMA")
        markers = [i for i, k in kinds if k == "ACTIVATE_VERSION"]
        assert schema_at < markers[0] < first_record, "SCHEMA, start marker, then records"
        assert len(markers) == 2 and markers[1] > last_record, "one end marker, after all"
        versions = {m["version"] for m in run.of_type("ACTIVATE_VERSION", entity)}
        assert len(versions) == 1
        assert {r["version"] for r in run.of_type("RECORD", entity)} == versions
    # Entities are written one after another (no interleaving on stdout).
    order = [m["stream"] for m in run.of_type("RECORD")]
    blocks = [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s]
    assert sorted(blocks) == sorted(MAIN), blocks
    assert "id range(s)" in run.stderr
