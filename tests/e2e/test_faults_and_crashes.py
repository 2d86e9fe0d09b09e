"""Issue 7, scenarios 4, 5 and 7: API faults, crashes, retries running out.

4. 5 % of requests fail (429 + Retry-After, 500/502/503, dropped connections, truncated bodies,
   slow answers past the timeout): every run still succeeds and loses nothing.
5. The pipeline is SIGKILLed at random points of a full and of an incremental run (seeds fixed,
   printed in every assertion); the rerun completes and the tables equal WMS.
7. (Meltano) the API keeps failing past `max_retries`: the run fails with the URL and status in
   its output, the incremental bookmark does not move, and the next run catches up.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest
from e2e_helpers import (
    BIN,
    ENTITIES,
    ROOT,
    Pipes,
    apply_changes_checked,
    assert_matches_wms,
)

from wms_simulator.testing import running_simulator

pytestmark = pytest.mark.e2e

FIVE_PERCENT = {
    "429": 0.01, "500": 0.007, "502": 0.007, "503": 0.007,
    "drop": 0.007, "truncate": 0.007, "slow": 0.005,
}


@pytest.mark.parametrize("prefetch", [False, True], ids=["plain", "prefetch"])
def test_five_percent_faults_lose_nothing(pipes, simulator, prefetch) -> None:
    """Scenario 4: full, changes, incremental, changes + deletes, full -- all under faults."""
    simulator.set_faults(probabilities=FIVE_PERCENT, seed=7, retry_after="0.05",
                         slow_seconds=1.5, kinds=["list", "describe", "catalog"])
    pipes.tap_extra.update(timeout=1, prefetch_pages=prefetch)  # `slow` answers time out
    pipes.page_size = 40

    pipes.run("full")
    assert_matches_wms(pipes.warehouse, simulator, context="full sync under faults")
    apply_changes_checked(simulator, update=60, insert=30, tie=20, late=3)
    pipes.run("incremental")
    assert_matches_wms(pipes.warehouse, simulator, deletes_reconciled=False,
                       context="incremental under faults")
    apply_changes_checked(simulator, update=20, insert=10, delete=15)
    pipes.run("full")
    assert_matches_wms(pipes.warehouse, simulator, context="second full sync under faults")

    faults = simulator.stats()["faults"]
    injected = {k: v for k, v in faults.items() if k != "ok"}
    assert len(injected) >= 4 and sum(injected.values()) >= 8, f"too few faults: {faults}"
    log = "".join(r.tap_log for r in pipes.results)
    assert "Retry 1/8" in log


def _kill_and_rerun(pipes: Pipes, kind: str, rng: random.Random, seed: int,
                    max_kills: int = 2) -> list[float]:
    """SIGKILL `kind` at random moments (1-`max_kills` times), then let it finish."""
    kills = []
    for _ in range(rng.randint(1, max_kills)):
        at = round(rng.uniform(0.3, 4.0), 2)
        result = pipes.kill_after(kind, at)
        kills.append((at, result.returncode))
    pipes.run(kind)
    return kills


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_points_then_rerun(tmp_path, seed) -> None:
    """Scenario 5 (piped): kill full and incremental runs anywhere; reruns make it right."""
    rng = random.Random(seed)
    with running_simulator(scale=2000, seed=100 + seed, page_delay=0.01) as sim:
        pipes = Pipes(sim, tmp_path / "w", tmp_path / "wh.db")
        pipes.workdir.mkdir()
        pipes.page_size = 25
        pipes.target_extra["batch_size_rows"] = 100  # many commits: many places to die
        kills = _kill_and_rerun(pipes, "full", rng, seed)
        where = f"[seed={seed}; full kills (at s, rc)={kills}]"
        assert_matches_wms(pipes.warehouse, sim, context=f"after the killed full sync {where}")

        apply_changes_checked(sim, update=80, insert=40, tie=20)
        kills = _kill_and_rerun(pipes, "incremental", rng, seed)
        where += f" [incremental kills={kills}]"
        assert_matches_wms(pipes.warehouse, sim, deletes_reconciled=False,
                           context=f"after the killed incremental {where}")

        apply_changes_checked(sim, update=30, delete=20, insert=10)
        kills = _kill_and_rerun(pipes, "full", rng, seed)
        where += f" [second full kills={kills}]"
        assert_matches_wms(pipes.warehouse, sim, context=f"after the second killed full {where}")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant (the guard starts its child in its own session,
    so killing the outer process group alone would leave the inner `meltano run` going)."""
    for p in _descendants(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGSTOP)  # freeze first, so nobody forks or reaps meanwhile
    for p in _descendants(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


@pytest.mark.parametrize("seed", [5])
def test_meltano_full_sync_killed_then_rerun(project, simulator, seed) -> None:
    """Scenario 5 (Meltano): the whole `meltano run full_sync` tree SIGKILLed mid-run."""
    rng = random.Random(seed)
    project.env["TAP_ORACLE_WMS_FULL_PAGE_SIZE"] = "50"
    project.env["TARGET_ORACLE_FULL_BATCH_SIZE_ROWS"] = "200"
    proc = subprocess.Popen([str(BIN / "meltano"), "run", "full_sync"], cwd=ROOT,
                            env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    # Wait until the inner pipeline is loading, then kill at a random point of it.
    deadline = time.monotonic() + 120
    started = False
    while time.monotonic() < deadline and proc.poll() is None:
        if project.query("SELECT name FROM sqlite_master WHERE name = 'wms_allocation_snap'") \
                if project.warehouse.exists() else []:
            started = True
            break
        time.sleep(0.2)
    at = round(rng.uniform(0.0, 2.0), 2)
    time.sleep(at)
    killed = proc.poll() is None
    kill_tree(proc.pid)
    proc.wait()
    where = f"[seed={seed}; killed={killed} {at}s after loading started={started}]"

    rerun = project.meltano("run", "full_sync", check=False)
    out = rerun.stdout + rerun.stderr
    if rerun.returncode != 0:
        raise AssertionError(f"rerun failed {where}:\n{out[-4000:]}")
    assert_matches_wms(project.warehouse, simulator, context=f"after the rerun {where}")


def _incremental_bookmarks(project) -> dict:
    """The incremental pipeline's effective bookmarks (completed state, then partial over it),
    read straight from Meltano's system database."""
    state = _incremental_state(project)
    merged: dict = {}
    for part in ("completed", "partial"):
        marks = ((state.get(part) or {}).get("singer_state") or {}).get("bookmarks") or {}
        for stream, mark in marks.items():
            merged.setdefault(stream, {}).update(mark)
    return merged


def _incremental_state(project) -> dict:
    with sqlite3.connect(project.env["MELTANO_DATABASE_URI"].removeprefix("sqlite:///")) as db:
        rows = db.execute("SELECT state_id, partial_state, completed_state FROM state").fetchall()
    for state_id, partial, completed in rows:
        if state_id.endswith("tap-oracle-wms-incremental-to-target-oracle-incremental"):
            return {"partial": json.loads(partial or "{}"),
                    "completed": json.loads(completed or "{}")}
    return {}


def test_retries_exhausted_fail_loudly_and_keep_the_bookmark(project, simulator) -> None:
    """Scenario 7: every list request answers 500; the run fails with URL and status, the
    incremental bookmark stays put, and the next run (faults off) catches up."""
    project.meltano("run", "full_sync")  # also seeds the incremental bookmarks
    before = _incremental_bookmarks(project)
    assert set(before) == set(ENTITIES), before

    apply_changes_checked(simulator, update=30, insert=10)
    simulator.set_faults(probabilities={"500": 1.0})
    project.env["TAP_ORACLE_WMS_MAX_RETRIES"] = "2"
    result = project.meltano("run", "incremental_sync", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "Giving up on http://127.0.0.1:" in out and "/wms/lgfapi/v10/entity/" in out, out[-3000:]
    assert "HTTP 500" in out and "after 3 attempts" in out, out[-3000:]
    assert _incremental_bookmarks(project) == before, "a failed run moved the bookmark"

    simulator.set_faults()
    project.meltano("run", "incremental_sync")
    assert_matches_wms(project.warehouse, simulator, context="after the catch-up incremental")
    assert _incremental_bookmarks(project) != before
