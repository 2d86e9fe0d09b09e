"""The production-latency profile (`python -m benchmarks --profile production`).

On a real tenant the WMS, not our CPU, decides a sync's wall time: ~1 s + 15-20 ms per record
per page, a whole-match sort per page off `id`, a 504 past the gateway limit, and a shared tier
that serves a bounded number of requests at once (`../shared/wms-api.md`, "Observed on
production tenants"). This profile makes the simulator charge that, scaled down so a run takes
minutes (`PROFILE`), and measures, on one simulator:

- `sequential`: one request at a time following `next_page` (the baseline records/s; its ids
  are the WMS side of the id-for-id checks);
- `full_sync`: `meltano run full_sync` allowed `PARALLEL` requests in flight: records/s, the
  ratio to the sequential reader, the warehouse equal to WMS id for id;
- `incremental`: a first `meltano run incremental_sync` from `START_DATE` (everything) into a
  fresh warehouse, with a `GATEWAY_S` gateway and a sort cost per row set so that one
  mod_ts-ordered query over even the smallest entity exceeds it: completes? exact? wall s.

Whatever the tap does is measured: a tap that ignores `max_parallel_requests` shows a ratio
near 1; an incremental that fails is a failed row with its reason, and the bench goes on.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from benchmarks import configs, warehouse
from benchmarks.paths import ROOT, executable
from benchmarks.proctree import MeasuredRun
from benchmarks.steps import Bench, StepResult

#: The latency profile: the production page (~1 s + 15-20 ms per record) scaled down 20-30x,
#: and the tier's capacity.
PROFILE: dict[str, Any] = {"per_request": 0.05, "per_record": 0.0005, "max_concurrent": 8}
#: Requests the pipelines may keep in flight (as many as the simulated tier serves).
PARALLEL = 8
#: The incremental's gateway: production's 300 s, scaled down like the page cost.
GATEWAY_S = 2.0
#: One off-id query over the smallest entity costs this many gateways (so it always 504s).
SORT_MARGIN = 1.5
START_DATE = "2000-01-01"
STEPS = ("sequential", "full_sync", "incremental")
STEP_TIMEOUT_S = 3600

PARALLEL_ENV = tuple(f"TAP_ORACLE_WMS{variant}_MAX_PARALLEL_REQUESTS"
                     for variant in ("", "_FULL", "_INCREMENTAL"))
START_DATE_ENV = ("TAP_ORACLE_WMS_START_DATE", "TAP_ORACLE_WMS_INCREMENTAL_START_DATE")


def sort_per_row(smallest_entity_rows: int, gateway_s: float = GATEWAY_S) -> float:
    """Seconds per matching row so that sorting the smallest whole entity exceeds the gateway.

    At 200,000 records (order_hdr 20,000) this is 1.5e-4 s/row, which is also production's
    own figure: a 2-million-row order_dtl ordered by mod_ts ran past the 300 s gateway.
    """
    return SORT_MARGIN * gateway_s / max(1, smallest_entity_rows)


@dataclass
class ProductionRun:
    """What the production steps share: the bench, the profile, and the WMS's ids."""

    bench: Bench
    profile: dict[str, Any] = field(default_factory=lambda: dict(PROFILE))
    truth: dict[str, list[int]] | None = None
    sequential_rate: float | None = None

    def smallest_entity(self) -> int:
        if self.truth:
            return min(len(ids) for ids in self.truth.values())
        return max(1, self.bench.sim.scale // 10)  # the simulator's order_hdr share


def _measure(bench: Bench, argv: list[str], log_name: str, **kwargs: Any
             ) -> tuple[MeasuredRun | None, Path]:
    """A measured run that reports a timeout instead of raising it."""
    try:
        return bench.run(argv, log_name, timeout=STEP_TIMEOUT_S, **kwargs)
    except subprocess.TimeoutExpired:
        return None, bench.path(log_name)


#: Log prefixes of Meltano and wms-ops relaying a plugin's lines ("<ts> [info     ] tap ...").
_PREFIX = re.compile(r"^(?:\s*\S+Z \[\s*\w+\s*\] \S+\s+)+")
_EXCEPTION = re.compile(r"\b\w*(?:Error|Exception|Timeout)\b:")
_MARKERS = ("error", "failed", "504", "gateway", "timed out")
_NOISE = ("block run completed",)


def failure_reason(log: Path, returncode: int | None) -> str:
    """Why a step failed, from its log: the last exception line, else the last error-looking
    line (Meltano's own "Block run completed" is skipped), else the exit status."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    text = [_PREFIX.sub("", line).strip() for line in lines]
    text = [t for t in text if t and not any(n in t.lower() for n in _NOISE)]
    for pick in (lambda t: _EXCEPTION.search(t),
                 lambda t: any(m in t.lower() for m in _MARKERS)):
        found = next((t for t in reversed(text) if pick(t)), None)
        if found:
            return found[-240:]
    return f"exit {returncode}" if returncode is not None else f"timed out after {STEP_TIMEOUT_S} s"


def _failed_row(run: ProductionRun, step: str, label: str, measured: MeasuredRun | None,
                log: Path, **detail: Any) -> StepResult:
    reason = failure_reason(log, measured.returncode if measured else None)
    print(f"  {label} FAILED: {reason}; log {log}", file=sys.stderr)
    if measured is None:
        return StepResult(step, label, None, STEP_TIMEOUT_S, ok=False, note=f"failed: {reason}",
                          detail=detail)
    return run.bench.row(step, label, None, measured, ok=False, note=f"failed: {reason}",
                         detail=detail)


def sequential(run: ProductionRun) -> StepResult:
    """One request at a time, following `next_page`, on the profile's simulator."""
    bench, page_size = run.bench, _page_size()
    ids_path = bench.path("sequential-ids.json")
    argv = [sys.executable, "-m", "benchmarks.sequential", "--base-url", bench.sim.base_url,
            "--page-size", str(page_size), "--ids-out", str(ids_path)]
    label = "sequential reader (1 request at a time)"
    bench.sim.stats(reset=True)
    measured, log = _measure(bench, argv, "sequential.log", cwd=ROOT, capture_stdout=True)
    stats = bench.sim.stats()
    if measured is None or measured.returncode != 0:
        return _failed_row(run, "prod_sequential", label, measured, log)
    run.truth = orjson.loads(ids_path.read_bytes())
    records = sum(len(v) for v in run.truth.values())
    row = bench.row("prod_sequential", label, records, measured,
                    note=f"page_size {page_size}; peak {stats.get('peak_concurrent')} in flight",
                    detail={"rows": orjson.loads(measured.stdout), "sim": stats})
    run.sequential_rate = row.rate
    return row


def _env(run: ProductionRun, name: str, **extra: str) -> tuple[dict[str, str], Path]:
    """A meltano job's environment: fresh warehouse and state under `name`, parallel reads."""
    workdir = run.bench.path(name)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "warehouse.db"
    env = configs.meltano_env(run.bench.sim, db, workdir)
    env.update({key: str(PARALLEL) for key in PARALLEL_ENV})
    env.update(extra)
    return env, db


def _check(run: ProductionRun, db: Path) -> tuple[bool, str, dict[str, str]]:
    """(exact?, note text, per-entity differences) against the sequential reader's ids."""
    if run.truth is None:
        return True, "not checked (no sequential ids)", {}
    diff = warehouse.id_mismatches(db, run.truth)
    if not diff:
        return True, "warehouse == WMS id for id", {}
    return False, "warehouse != WMS: " + "; ".join(f"{e} {d}" for e, d in diff.items()), diff


def full_sync(run: ProductionRun) -> StepResult:
    """`meltano run full_sync` with `PARALLEL` requests allowed in flight."""
    bench = run.bench
    env, db = _env(run, "prod-full")
    label = f"meltano run full_sync ({PARALLEL} requests in flight allowed)"
    bench.sim.stats(reset=True)
    measured, log = _measure(bench, [executable("meltano"), "run", "full_sync"],
                             "prod-full_sync.log", cwd=ROOT, env=env)
    stats = bench.sim.stats()
    if measured is None or measured.returncode != 0:
        return _failed_row(run, "prod_full_sync", label, measured, log, sim=stats)
    landed = warehouse.live_rows(db)
    exact, check, diff = _check(run, db)
    row = bench.row("prod_full_sync", label, sum(landed.values()), measured, ok=exact,
                    detail={"rows": landed, "id_diff": diff, "sim": stats})
    ratio = (row.rate / run.sequential_rate) if row.rate and run.sequential_rate else None
    row.detail["ratio_to_sequential"] = round(ratio, 2) if ratio else None
    row.note = "; ".join(filter(None, [
        f"{ratio:.1f}x sequential" if ratio else "",
        f"peak {stats.get('peak_concurrent')} in flight", check]))
    return row


def incremental(run: ProductionRun) -> StepResult:
    """A first incremental from `START_DATE`, behind a gateway that off-id whole sorts exceed."""
    bench = run.bench
    gateway = run.profile.get("gateway_seconds") or GATEWAY_S
    sort = sort_per_row(run.smallest_entity(), gateway)
    profile = bench.sim.set_latency(**{**run.profile, "gateway_seconds": gateway,
                                       "sort_per_row": sort})
    env, db = _env(run, "prod-incremental", **dict.fromkeys(START_DATE_ENV, START_DATE))
    label = (f"meltano run incremental_sync (first, from {START_DATE}; "
             f"gateway {gateway:g} s, sort {sort:.2g} s/row)")
    bench.sim.stats(reset=True)
    try:
        measured, log = _measure(bench, [executable("meltano"), "run", "incremental_sync"],
                                 "prod-incremental.log", cwd=ROOT, env=env)
        stats = bench.sim.stats()
    finally:
        bench.sim.set_latency(**run.profile)
    detail = {"latency": profile, "sim": stats}
    if measured is None or measured.returncode != 0:
        return _failed_row(run, "prod_incremental", label, measured, log, **detail)
    landed = warehouse.live_rows(db)
    exact, check, diff = _check(run, db)
    return bench.row("prod_incremental", label, sum(landed.values()), measured, ok=exact,
                     note=f"completed; {check}; {stats.get('gateway_timeouts', 0)} gateway 504s",
                     detail={**detail, "rows": landed, "id_diff": diff})


def _page_size() -> int:
    return configs.meltano_page_size("tap-oracle-wms-full") or 1000


RUNNERS: dict[str, Callable[[ProductionRun], StepResult]] = {
    "sequential": sequential, "full_sync": full_sync, "incremental": incremental,
}


def run_steps(bench: Bench, steps: list[str], profile: dict[str, Any] | None = None,
              on_row: Callable[[StepResult], None] | None = None) -> list[StepResult]:
    """Set the latency profile on the bench's simulator and run the chosen steps in order."""
    run = ProductionRun(bench, profile=dict(profile or PROFILE))
    bench.sim.set_latency(**run.profile)
    rows: list[StepResult] = []
    for step in STEPS:
        if step in steps:
            rows.append(RUNNERS[step](run))
            if on_row:
                on_row(rows[-1])
    return rows

