"""Progress lines: percent, moving-average rate and ETA, per entity and for the run (issue 20).

The run tests go through the tap's CLI against the simulator's latency model: a steady cost
per request and one request in flight, so the run's pace is set by the simulated server and
not by how busy this machine is (the tap's own CPU per page is a small share of the wait).
"""

from __future__ import annotations

import json
import re
import typing as t
from datetime import datetime
from pathlib import Path

import pytest
from tap_helpers import base_config, run_tap

from tap_oracle_wms.progress import Progress, clock_text, figures, line
from wms_simulator.testing import running_simulator

LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Progress (?P<name>\w+): (?P<pct>\d+)% "
    r"\((?P<rows>[\d,]+) of ~?(?P<total>[\d,]+) rows\), [\d,]+ rows/s, "
    r"ETA (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)$"
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def progress_lines(stderr: str) -> list[dict[str, t.Any]]:
    out = []
    for text in stderr.splitlines():
        m = LINE.match(text.strip())
        if m:
            out.append({
                "at": datetime.strptime(m["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp(),
                "name": m["name"], "pct": int(m["pct"]),
                "rows": int(m["rows"].replace(",", "")),
                "total": int(m["total"].replace(",", "")),
                "eta": int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"]),
            })
    return out


def test_the_line_carries_percent_rows_total_rate_and_eta() -> None:
    fig = figures(860_000, 2_000_000, 412.0, done=False)
    assert line("order_dtl", fig) == (
        "order_dtl: 43% (860,000 of ~2,000,000 rows), 412 rows/s, ETA 0:46:07")
    assert line("run", figures(5, 5, 1.0, done=True)).startswith("run: 100% (5 of 5 rows)")
    assert clock_text(2 * 3600 + 40 * 60) == "2:40:00"
    # More rows than counted (inserted meanwhile): never over 99% before the end.
    assert figures(120, 100, 1.0, done=False)["percent"] == 99.0


def test_the_eta_follows_the_recent_rate_after_a_slow_start() -> None:
    """A 429 storm at the start: 10 rows/s for 5 minutes, then 100 rows/s. The ETA must come
    from the recent pace, not the average since the start."""
    clock = Clock()
    progress = Progress(15.0, clock=clock)
    progress.plan("allocation")
    progress.set_total("allocation", 100_000)
    for _ in range(20):  # 5 minutes slow
        clock.now += 15
        progress.add("allocation", 150)
        progress.tick()
    for _ in range(30):  # 7.5 minutes fast
        clock.now += 15
        progress.add("allocation", 1500)
        progress.tick()
    fig = progress._entity_figures(progress._tallies["allocation"], clock.now)
    left = 100_000 - fig["rows"]
    assert fig["rate"] == pytest.approx(100.0)
    assert fig["eta_seconds"] == pytest.approx(left / 100.0)


def test_an_entity_whose_pages_were_read_ahead_is_not_done_in_a_burst() -> None:
    """The writer writes one stream after another while every stream is read at once: when
    order_dtl's turn comes, its read-ahead pages are written in a second. Its ETA must keep
    the run's pace (about 100 rows/s here), not say 0:00:02 at half way (seen on a real run)."""
    clock = Clock()
    progress = Progress(3.0, clock=clock)
    for name, total in (("allocation", 1200), ("order_dtl", 6000)):
        progress.plan(name)
        progress.set_total(name, total)
    for _ in range(20):  # one minute: allocation at 60 rows/s
        clock.now += 3
        progress.add("allocation", 180)
        progress.tick()
    progress.finish("allocation")
    clock.now += 1
    progress.add("order_dtl", 3000)  # its buffered pages, at once
    clock.now += 2
    progress.tick()
    fig = progress._entity_figures(progress._tallies["order_dtl"], clock.now,
                                   cap=progress._run_figures(list(progress._tallies.values()),
                                                             clock.now)["rate"])
    assert fig["percent"] == 50.0
    assert fig["rate"] < 200 and fig["eta_seconds"] > 20  # uncapped: 1,500 rows/s, 2 s


def _tap(sim: t.Any, tmp_path: Path, **extra: t.Any) -> tuple[t.Any, float]:
    config = base_config(sim, entities=["allocation"], page_size=20, max_parallel_requests=1,
                         progress_interval_seconds=0.25, **extra)
    path = tmp_path / "progress.json"
    run = run_tap(config, env={"WMS_PROGRESS_FILE": str(path)}, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run, path


def test_full_sync_percent_rises_to_100_and_the_mid_run_eta_holds(tmp_path: Path) -> None:
    # 1,200 rows in 60 pages of 0.1 s each: a steady ~6 s run.
    latency = {"per_request": 0.1, "max_concurrent": 1}
    with running_simulator(scale=2000, seed=3, latency=latency) as sim:
        run, path = _tap(sim, tmp_path)
        assert len(run.ids("allocation")) == 1200
    lines = progress_lines(run.stderr)
    for name in ("allocation", "run"):
        pcts = [x["pct"] for x in lines if x["name"] == name]
        assert len(pcts) >= 5, run.stderr[-3000:]
        assert pcts == sorted(pcts), pcts  # never goes back
        assert pcts[-1] == 100 and pcts[-2] < 100
    run_lines = [x for x in lines if x["name"] == "run"]
    end = run_lines[-1]["at"]
    mid = [x for x in run_lines if 30 <= x["pct"] <= 70]
    assert mid, run_lines
    for x in mid:
        took = end - x["at"]
        # The ETA is logged in whole seconds: half a second of rounding either way.
        assert took / 2 - 0.5 <= x["eta"] <= 2 * took + 0.5, (x, took)
    final = json.loads(path.read_text())
    assert final["outcome"] == "done" and final["run"]["percent"] == 100.0
    assert final["entities"][0]["rows"] == final["entities"][0]["total"] == 1200


def test_incremental_total_is_the_rows_of_the_span(tmp_path: Path) -> None:
    latency = {"per_request": 0.05, "max_concurrent": 1}
    with running_simulator(scale=2000, seed=3, latency=latency) as sim:
        run, path = _tap(sim, tmp_path, enable_incremental=True,
                         start_date="2000-01-01T00:00:00Z")
        written = len(run.ids("allocation"))
    lines = [x for x in progress_lines(run.stderr) if x["name"] == "allocation"]
    assert lines and lines[-1]["pct"] == 100
    assert [x["pct"] for x in lines] == sorted(x["pct"] for x in lines)
    final = json.loads(path.read_text())
    assert final["entities"][0]["total"] == written


def test_interval_zero_turns_progress_off(tmp_path: Path) -> None:
    with running_simulator(scale=200, seed=3) as sim:
        sim.reset_stats()
        config = base_config(sim, entities=["order_hdr"], progress_interval_seconds=0)
        run = run_tap(config, env={"WMS_PROGRESS_FILE": str(tmp_path / "p.json")})
        assert run.returncode == 0, run.stderr[-2000:]
        assert sim.stats()["requests"]["order_hdr"].get("paged", 0) == 0  # no count asked
    assert "Progress" not in run.stderr
    assert not (tmp_path / "p.json").exists()


def test_a_resumed_snapshot_counts_only_the_rows_left_in_its_ranges(tmp_path: Path) -> None:
    from tap_helpers import run_tap_and_kill

    latency = {"per_request": 0.05, "max_concurrent": 2}
    with running_simulator(scale=2000, seed=3, latency=latency) as sim:
        config = base_config(sim, entities=["allocation"], page_size=20,
                             max_parallel_requests=2, progress_interval_seconds=0.25)
        killed = run_tap_and_kill(config, after_states=10)
        state = killed.last_state
        assert state and state["bookmarks"]["allocation"].get("full_progress"), state
        rerun = run_tap(config, state=state)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        written = len(rerun.ids("allocation"))
    assert 0 < written < 1200
    lines = [x for x in progress_lines(rerun.stderr) if x["name"] == "allocation"]
    assert lines[-1]["pct"] == 100 and lines[-1]["rows"] == written
    mid = [x for x in lines if x["pct"] < 100]
    assert mid, rerun.stderr[-3000:]
    assert {x["total"] for x in mid} == {written}  # the rows left, not the whole entity
