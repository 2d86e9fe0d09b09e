"""Many processes doing the first steps of a guard in the same instant, round after round.

Real guards take ~0.3 s to start, so 30 x 4 of them would cost minutes; the race is in the
first few milliseconds of each (opening the ops DB, the lease), so workers here are started
once and then, every round, released together by a barrier onto a fresh file: the moment
at which two cron jobs fire on a new project, repeated.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BARRIER_TIMEOUT = 120  # only reached when a worker died: the test then fails, never hangs


def open_ops_db(folder: Path, worker: int) -> Any:
    """What every command does first: open (create) the ops DB; then the guard's first write."""
    from orchestrate.opsdb import OpsDB

    ops = OpsDB(folder / "ops.db")
    try:
        return ops.execute(
            "INSERT INTO guard_runs (run_id, pipeline, environment, started_at, outcome) "
            "VALUES (?, 'p', 'dev', '2026-01-01T00:00:00Z', 'running')", (f"w{worker}",))
    finally:
        ops.close()


def take_lease(folder: Path, worker: int) -> Any:
    """A guard with lock_url: the lease table created on first use, one run wins the row."""
    from orchestrate.leases import LeaseLock

    lease = LeaseLock(f"sqlite:///{folder / 'locks.db'}", "wh", 300)
    try:
        return lease.try_acquire({"worker": worker})
    finally:
        lease.engine.dispose()


def _worker(step: Callable[[Path, int], Any], root: str, rounds: int, worker: int,
            barrier: Any, results: Any) -> None:
    for n in range(rounds):
        folder = Path(root) / f"round-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        barrier.wait(BARRIER_TIMEOUT)
        try:
            results.put((n, worker, "ok", step(folder, worker)))
        except BaseException:  # what a guard would die of: report it, go on with the rounds
            results.put((n, worker, "error", traceback.format_exc()))


def run_together(step: Callable[[Path, int], Any], root: Path, workers: int,
                 rounds: int) -> dict[int, list[tuple[str, Any]]]:
    """Per round, what each of `workers` processes got from `step` when all started it at
    once: ("ok", value) or ("error", traceback)."""
    ctx = mp.get_context("spawn")  # fresh interpreters, like guards (no state forked over)
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(step, str(root), rounds, w, barrier, results))
             for w in range(workers)]
    for p in procs:
        p.start()
    out: dict[int, list[tuple[str, Any]]] = {}
    try:
        for _ in range(workers * rounds):
            n, _w, status, value = results.get(timeout=BARRIER_TIMEOUT)
            out.setdefault(n, []).append((status, value))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return out
