"""A running run seen from every host through `ops_db_url` (the `live_runs` table).

Two configurations with their own local files (`ops_db_path`) and one shared ops DB stand for
two hosts, on a SQLite URL and on the Oracle emulator. Host A's real guard tracker (its
watcher thread) mirrors its run while the test writes the tap's progress file, as the tap
does through `WMS_PROGRESS_FILE`; host B reads status, the dashboard and the check.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from guard_helpers import wait_for

from orchestrate.alerts import run_check
from orchestrate.dashboard import render
from orchestrate.live_table import mark_gone, shared_runs
from orchestrate.opsdb import open_ops_db
from orchestrate.progress import PROGRESS_FILE_ENV, RunTracker, final_figures, running_for
from orchestrate.timeutil import iso, parse_ts, utcnow
from tests import oracle_mode


def _progress(path: Path, percent: float, rows: int, **extra: object) -> None:
    """What the tap writes (tap_oracle_wms/progress.py), whole, as it does."""
    payload = {"updated_at": iso(utcnow()), "interval": 0.2, "pid": 1,
               "run": {"rows": rows, "total": 2000, "percent": percent, "rate": 40.0,
                       "eta_seconds": 3600.0}, **extra}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


@pytest.fixture(params=["sqlite-url", "oracle"])
def shared_url(request, tmp_path: Path):
    if request.param == "sqlite-url":
        yield f"sqlite:///{tmp_path / 'shared-ops.db'}", None
        return
    path = str(tmp_path / "ops-oracle.db")
    server = oracle_mode.server(path)
    yield oracle_mode.oracle_url(path), server
    assert not server.violations


def test_host_b_sees_host_a_run_with_its_percent_then_its_end(project, tmp_path, shared_url):
    url, _server = shared_url
    cfg_a = project.config(ops_db_url=url, ops_db_path=str(tmp_path / "a" / "ops.db"),
                           full_sync_warning_minutes=1)
    cfg_b = project.config(ops_db_url=url, ops_db_path=str(tmp_path / "b" / "ops.db"),
                           full_sync_warning_minutes=1)
    ops_a, ops_b = open_ops_db(cfg_a), open_ops_db(cfg_b)
    tracker = RunTracker(cfg_a, cfg_a.pipeline("full_sync"), "runa1")
    try:
        progress_file = Path(tracker.begin()[PROGRESS_FILE_ENV])
        tracker.watch(None)
        # Announced before the tap's first figures: running, "no progress reported yet".
        wait_for(lambda: "full_sync" in running_for(cfg_b, None, ops_b), timeout=60)
        assert running_for(cfg_b, None, ops_b)["full_sync"].state == "running"
        # Many entities with long names, one with a hostile name: the list fits its column.
        entities = [{"name": f"entity_{i:03d}_" + "x" * 80, "started": True, "done": False,
                     "percent": 43.0, "rows": 100} for i in range(200)]
        entities[0]["name"] = "é" * 300
        _progress(progress_file, 43.0, 860, entities=entities)
        wait_for(lambda: running_for(cfg_b, None, ops_b)["full_sync"].percent == 43.0,
                 timeout=60)
        run = running_for(cfg_b, None, ops_b)["full_sync"]
        assert run.state == "running" and run.run_id == "runa1" and run.files == []
        assert "43% (860 of ~2,000 rows), 40 rows/s, ETA 1:00:00" in run.summary(utcnow())
        lines = run.entity_lines()
        assert 10 < len(lines) < 200 and lines[1].startswith("entity_001_")
        # Host B's dashboard and early warning see it too: projected 1 h against 1 min.
        assert 'id="live-full_sync"' in render(cfg_b, ops_b)
        result = run_check(cfg_b, ops_b)
        assert any("full_sync projected" in c.message for c in result.conditions)
        # On host A its own files win (fresher), and it is listed once.
        mine = running_for(cfg_a, None, ops_a)["full_sync"]
        assert mine.files and len([r for r in shared_runs(cfg_a, ops_a, utcnow())
                                   if r.run_id == "runa1"]) == 1
        _progress(progress_file, 100.0, 2000)
    finally:
        tracker.end("success")
    assert "full_sync" not in running_for(cfg_b, None, ops_b)
    assert final_figures(cfg_b, "runa1", ops_b) == {"rows": 2000, "rate": 40.0}
    [row] = ops_b.query("SELECT state FROM live_runs WHERE run_id = 'runa1'")
    assert row["state"] == "finished"
    ops_a.close()
    ops_b.close()


def test_a_killed_host_run_is_gone_once_its_heartbeat_is_stale(project, tmp_path, shared_url):
    url, _server = shared_url
    cfg_a = project.config(ops_db_url=url, ops_db_path=str(tmp_path / "a" / "ops.db"))
    cfg_b = project.config(ops_db_url=url, ops_db_path=str(tmp_path / "b" / "ops.db"),
                           running_stale_seconds=2, full_sync_warning_minutes=1)
    ops_b = open_ops_db(cfg_b)
    tracker = RunTracker(cfg_a, cfg_a.pipeline("full_sync"), "runa2")
    _progress(Path(tracker.begin()[PROGRESS_FILE_ENV]), 10.0, 200)
    tracker.watch(None)
    wait_for(lambda: running_for(cfg_b, None, ops_b).get("full_sync") is not None
             and running_for(cfg_b, None, ops_b)["full_sync"].percent == 10.0, timeout=60)
    # Host A dies: its watcher stops writing, nothing ends the run.
    tracker._stop.set()
    tracker._thread.join(timeout=30)
    tracker.mirror.close()
    [row] = ops_b.query("SELECT heartbeat_at, beat_seconds FROM live_runs")
    beat = row["heartbeat_at"]
    assert row["beat_seconds"] == 1.0  # 0.2 s progress interval, one write a second at most
    # Stale after max(running_stale_seconds, 10 beats) = 10 s; the clock is moved, not waited.
    at = parse_ts(beat)
    soon, late = at + timedelta(seconds=9), at + timedelta(seconds=11)
    assert running_for(cfg_b, soon, ops_b)["full_sync"].state == "running"
    gone = running_for(cfg_b, late, ops_b)["full_sync"]
    assert gone.state == "gone" and "GONE" in gone.summary(late)
    assert "running now" not in render(cfg_b, ops_b, late)
    # Projected 1 h against 1 min: warned while it runs, not once it is gone.
    assert [c for c in run_check(cfg_b, ops_b, soon).conditions if "projected" in c.message]
    assert not [c for c in run_check(cfg_b, ops_b, late).conditions if "projected" in c.message]
    # The next run of the pipeline, on any host, marks it gone for good.
    assert mark_gone(cfg_b, ops_b, "full_sync", late) == 1
    assert "full_sync" not in running_for(cfg_b, late, ops_b)
    ops_b.close()


def test_without_ops_db_url_nothing_is_mirrored(project, tmp_path) -> None:
    cfg = project.config()
    tracker = RunTracker(cfg, cfg.pipeline("full_sync"), "local1")
    assert tracker.mirror is None
    tracker.begin()
    tracker.watch(None)
    assert tracker._thread is None  # no watcher without an early warning or a mirror
    tracker.end("success")
    ops = open_ops_db(cfg)
    assert ops.query("SELECT COUNT(*) FROM live_runs")[0][0] == 0
    ops.close()


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf"])
def test_running_stale_seconds_must_be_positive(project, value) -> None:
    with pytest.raises(SystemExit, match="running_stale_seconds"):
        project.config(running_stale_seconds=value)
