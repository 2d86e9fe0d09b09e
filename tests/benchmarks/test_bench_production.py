"""The production-latency profile's plumbing, cheaply: tiny scales, tiny latencies, no timings.

The one end-to-end run through Meltano is marked e2e; the rest run in seconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import requests

from benchmarks import production, sequential, warehouse
from benchmarks.paths import ENTITIES
from wms_simulator.testing import running_simulator

ROOT = Path(__file__).resolve().parents[2]
TINY = '{"per_request": 0.001, "per_record": 0.00001}'


def _bench(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_sequential_reader_gets_every_id_one_request_at_a_time(tmp_path: Path) -> None:
    with running_simulator(scale=600, latency={"per_request": 0.001}) as sim:
        out = tmp_path / "ids.json"
        assert sequential.main(["--base-url", sim.base_url, "--page-size", "50",
                                "--ids-out", str(out)]) == 0
        ids = orjson.loads(out.read_bytes())
        assert set(ids) == set(ENTITIES)
        for entity in ENTITIES:
            assert ids[entity] == [rec["id"] for rec in sim.truth(entity)]
        assert sim.stats()["peak_concurrent"] == 1


def test_sort_cost_makes_a_whole_entity_mod_ts_query_hit_the_gateway() -> None:
    with running_simulator(scale=300) as sim:
        smallest = min(sim.store.counts[e] for e in ENTITIES)
        sim.set_latency(gateway_seconds=0.2, sort_per_row=production.sort_per_row(smallest, 0.2))
        auth = (sim.username, sim.password)
        for entity in ENTITIES:
            by_ts = requests.get(sim.entity_url(entity), auth=auth, timeout=60,
                                 params={"ordering": "mod_ts,id", "mod_ts__gte": "2000-01-01"})
            assert by_ts.status_code == 504, entity
            assert requests.get(sim.entity_url(entity), auth=auth, timeout=60,
                                params={"ordering": "id"}).status_code == 200


def _warehouse(path: Path, ids: list[int], deleted: tuple[int, ...] = ()) -> Path:
    with sqlite3.connect(path) as db:
        db.execute('CREATE TABLE "WMS_ORDER_HDR" (id INTEGER, _sdc_deleted_at TEXT)')
        db.executemany('INSERT INTO "WMS_ORDER_HDR" VALUES (?, NULL)', [(i,) for i in ids])
        db.executemany('INSERT INTO "WMS_ORDER_HDR" VALUES (?, ?)',
                       [(i, "2026-01-01") for i in deleted])
    return path


def test_id_check_names_missing_extra_and_duplicated_ids(tmp_path: Path) -> None:
    truth = {"order_hdr": [1, 2, 3, 4]}
    exact = _warehouse(tmp_path / "exact.db", [4, 3, 2, 1], deleted=(9,))
    assert warehouse.id_mismatches(exact, truth) == {}
    wrong = _warehouse(tmp_path / "wrong.db", [1, 2, 2, 5], deleted=(3,))
    assert warehouse.id_mismatches(wrong, truth) == {
        "order_hdr": "2 missing, 1 extra, 1 duplicated"}
    assert warehouse.id_mismatches(tmp_path / "empty.db", truth) == {"order_hdr": "4 missing"}


def test_failure_reason_digs_the_exception_out_of_relayed_logs(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    log.write_text(
        "2026-11-30T15:33:51.19Z [info     ] wms-ops      2026-11-30T15:33:51.19Z [info     ] "
        "tap-oracle-wms Traceback (most recent call last):\n"
        "2026-11-30T15:33:51.20Z [info     ] wms-ops      2026-11-30T15:33:51.20Z [info     ] "
        "tap-oracle-wms RuntimeError: 504 Gateway Timeout for order_dtl\n"
        "2026-11-30T15:33:51.41Z [error    ] meltano      Block run completed\n")
    assert production.failure_reason(log, 1) == "RuntimeError: 504 Gateway Timeout for order_dtl"
    assert production.failure_reason(tmp_path / "none.log", 3) == "exit 3"


def test_production_sequential_step_lands_in_its_own_results_file(tmp_path: Path) -> None:
    out_dir = tmp_path / "results"
    result = _bench("--profile", "production", "--scale", "3000", "--only", "sequential",
                    "--latency", TINY, "--output-dir", str(out_dir),
                    "--workdir", str(tmp_path / "work"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    files = list(out_dir.glob("*-3000-production.json"))
    assert len(files) == 1, list(out_dir.iterdir())
    data = json.loads(files[0].read_text())
    assert data["profile"] == "production"
    assert data["latency"] == {**production.PROFILE, **json.loads(TINY)}
    (row,) = data["rows"]
    assert row["step"] == "prod_sequential" and row["ok"]
    assert row["records"] == 3000 and row["records_per_s"] > 0
    assert row["peak_rss_mb"].get("reader", 0) > 0
    assert row["detail"]["sim"]["peak_concurrent"] == 1
    assert "production latency" in result.stdout


def test_profile_steps_and_latency_flag_are_checked() -> None:
    bad_step = _bench("--profile", "production", "--only", "floor", "--no-save", timeout=60)
    assert bad_step.returncode == 2 and "unknown step" in bad_step.stderr
    misplaced = _bench("--latency", TINY, "--only", "floor", "--no-save", timeout=60)
    assert misplaced.returncode == 2 and "--profile production" in misplaced.stderr


@pytest.mark.e2e
def test_production_profile_end_to_end(tmp_path: Path) -> None:
    """All three steps through Meltano at a tiny scale: the full sync lands WMS id for id; the
    incremental behind the gateway either completes exactly or is a failed row with a reason."""
    # few retries: a tap that 504s gives up in seconds (not a decimal setting: Meltano cannot
    # write a decimal set from the environment into the plugin's config)
    env_keys = {"TAP_ORACLE_WMS_INCREMENTAL_MAX_RETRIES": "2"}
    old = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(env_keys)  # inherited by the meltano runs (meltano_env copies os.environ)
    try:
        tiny = json.dumps({**json.loads(TINY), "gateway_seconds": 0.5})  # 504s wait 0.5 s
        result = _bench("--profile", "production", "--scale", "3000", "--latency", tiny,
                        "--output-dir", str(tmp_path / "results"),
                        "--workdir", str(tmp_path / "work"), timeout=1200)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (path,) = (tmp_path / "results").glob("*-3000-production.json")
    rows = {r["step"]: r for r in json.loads(path.read_text())["rows"]}
    assert set(rows) == {"prod_sequential", "prod_full_sync", "prod_incremental"}
    full = rows["prod_full_sync"]
    assert full["ok"], full["note"]
    assert full["records"] == 3000 and full["detail"]["id_diff"] == {}
    assert full["detail"]["ratio_to_sequential"] > 0
    inc = rows["prod_incremental"]
    if inc["ok"]:
        assert inc["records"] == 3000 and inc["detail"]["id_diff"] == {}
    else:
        assert inc["note"].startswith("failed: ") and len(inc["note"]) > len("failed: ")
    assert result.returncode == (0 if inc["ok"] else 1)
