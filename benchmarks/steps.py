"""The measured steps: floor, tap alone, target alone, full sync, incremental sync.

Every step writes to fresh output in the run's work directory, runs as its own process tree
(wall time and peak RSS of each process, see `proctree`), and counts the records it really
landed. A step that fails is reported as failed with the tail of its log; the steps after it
still run when they do not depend on it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from benchmarks import configs, warehouse
from benchmarks.paths import ROOT, executable
from benchmarks.proctree import MeasuredRun, cpu_seconds, run_measured
from benchmarks.simulator import Simulator

STEPS = ("floor", "tap", "target", "full_sync", "incremental")
STEP_TIMEOUT_S = 4 * 3600
#: Share of the records changed before the measured incremental run (0.1 %).
CHANGE_SHARE = 0.001


@dataclass
class StepResult:
    """One row of the benchmark table."""

    step: str
    label: str
    records: int | None
    wall_s: float
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    ok: bool = True
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    cpu_s: float | None = None  # CPU of the step's whole process tree
    sim_cpu_s: float | None = None  # CPU the simulator spent serving the step

    @property
    def rate(self) -> float | None:
        if not self.records or self.wall_s <= 0:
            return None
        return self.records / self.wall_s


@dataclass
class Bench:
    """What the steps share within one scale: the simulator, the work dir, the knobs."""

    sim: Simulator
    workdir: Path
    page_size: int = 1000
    interval: float = 0.05
    recorded: Path | None = None
    recorded_counts: dict[str, int] | None = None
    full_sync_wall_s: float | None = None
    last_sim_cpu_s: float | None = None

    def path(self, name: str) -> Path:
        return self.workdir / name

    def run(self, argv: list[str], log_name: str, timeout: float = STEP_TIMEOUT_S,
            **kwargs: Any) -> tuple[MeasuredRun, Path]:
        """Run one measured process tree, its stderr to `log_name`; note the server's CPU."""
        log = self.path(log_name)
        sim_before = cpu_seconds(self.sim.pid)
        with log.open("wb") as log_fh:
            result = run_measured(argv, stderr=log_fh, interval=self.interval,
                                  timeout=timeout, **kwargs)
        sim_after = cpu_seconds(self.sim.pid)
        self.last_sim_cpu_s = (round(sim_after - sim_before, 2)
                               if sim_before is not None and sim_after is not None else None)
        return result, log

    def row(self, step: str, label: str, records: int | None, run: MeasuredRun, *,
            ok: bool = True, note: str = "", detail: dict[str, Any] | None = None,
            ) -> StepResult:
        """A table row from a measured run (wall, peaks, CPU of the step and of the server)."""
        detail = {**(detail or {}), "cpu_s_by_role": run.cpu_by_role()}
        return StepResult(step, label, records, run.wall_s, run.peak_rss_mb(), ok=ok, note=note,
                          detail=detail, cpu_s=run.cpu_s, sim_cpu_s=self.last_sim_cpu_s)


def _tail(log: Path, chars: int = 1500) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[-chars:]


def _failed(bench: Bench, step: str, label: str, run: MeasuredRun, log: Path) -> StepResult:
    print(f"  {label} FAILED (exit {run.returncode}); log {log}\n{_tail(log)}", file=sys.stderr)
    return bench.row(step, label, None, run, ok=False, note=f"exit {run.returncode}, see {log}")


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def floor(bench: Bench) -> list[StepResult]:
    """The yardstick: `benchmarks.floor` in its own process, into a fresh SQLite file."""
    db = bench.path("floor.db")
    argv = [sys.executable, "-m", "benchmarks.floor", "--base-url", bench.sim.base_url,
            "--db", str(db), "--page-size", str(bench.page_size)]
    run, log = bench.run(argv, "floor.log", cwd=ROOT, capture_stdout=True)
    label = "floor (requests + orjson + sqlite executemany)"
    if run.returncode != 0:
        return [_failed(bench, "floor", label, run, log)]
    claimed = orjson.loads(run.stdout)
    landed = warehouse.live_rows(db)
    note = "" if claimed == landed else f"loader said {claimed}"
    return [bench.row("floor", label, sum(landed.values()), run, note=note,
                      detail={"rows": landed})]


def record_singer(bench: Bench) -> StepResult:
    """The tap's Singer output recorded once to a file: the target step's input."""
    cfg = _write_json(bench.path("tap.json"), configs.tap_config(bench.sim, bench.page_size))
    out = bench.path("tap-output.singer.jsonl")
    with out.open("wb") as out_fh:
        run, log = bench.run([executable("tap-oracle-wms"), "--config", str(cfg)],
                             "tap-record.log", stdout=out_fh)
    label = "tap -> Singer file (recording)"
    if run.returncode != 0:
        return _failed(bench, "tap_record", label, run, log)
    bench.recorded = out
    bench.recorded_counts = warehouse.singer_records(out)
    size_mb = round(out.stat().st_size / 1e6, 1)
    return bench.row("tap_record", label, sum(bench.recorded_counts.values()), run,
                     note=f"{size_mb} MB of Singer",
                     detail={"records": bench.recorded_counts, "singer_mb": size_mb})


def tap(bench: Bench) -> list[StepResult]:
    """The tap alone, Singer output to /dev/null (records counted from the recording)."""
    rows = [] if bench.recorded else [record_singer(bench)]
    cfg = _write_json(bench.path("tap.json"), configs.tap_config(bench.sim, bench.page_size))
    run, log = bench.run([executable("tap-oracle-wms"), "--config", str(cfg)], "tap.log")
    label = "tap alone -> /dev/null"
    if run.returncode != 0:
        return [*rows, _failed(bench, "tap", label, run, log)]
    records = sum(bench.recorded_counts.values()) if bench.recorded_counts else None
    rows.append(bench.row("tap", label, records, run, note=f"page_size {bench.page_size}"))
    return rows


def target(bench: Bench) -> list[StepResult]:
    """The target alone, reading the recorded Singer file into a fresh SQLite file."""
    rows = [] if bench.recorded else [record_singer(bench)]
    label = "target alone <- Singer file (append-only)"
    if bench.recorded is None:
        return [*rows, StepResult("target", label, None, 0.0, ok=False, note="no recording")]
    db = bench.path("target.db")
    cfg = _write_json(bench.path("target.json"), configs.target_config(db))
    with bench.recorded.open("rb") as singer:
        run, log = bench.run([executable("target-oracle"), "--config", str(cfg)],
                             "target.log", stdin=singer)
    if run.returncode != 0:
        return [*rows, _failed(bench, "target", label, run, log)]
    landed = warehouse.live_rows(db)
    rows.append(bench.row("target", label, sum(landed.values()), run, detail={"rows": landed}))
    return rows


def _meltano(bench: Bench, job: str, log_name: str) -> tuple[MeasuredRun, Path]:
    env = configs.meltano_env(bench.sim, bench.path("warehouse.db"), bench.workdir)
    return bench.run([executable("meltano"), "run", job], log_name, cwd=ROOT, env=env)


def full_sync(bench: Bench) -> list[StepResult]:
    """`meltano run full_sync` into a fresh warehouse with a private Meltano system db."""
    label = "meltano run full_sync"
    run, log = _meltano(bench, "full_sync", "full_sync.log")
    if run.returncode != 0:
        return [_failed(bench, "full_sync", label, run, log)]
    bench.full_sync_wall_s = run.wall_s
    landed = warehouse.live_rows(bench.path("warehouse.db"))
    page_size = configs.meltano_page_size("tap-oracle-wms-full")
    return [bench.row("full_sync", label, sum(landed.values()), run,
                      note=f"page_size {page_size} (job's own)", detail={"rows": landed})]


def incremental(bench: Bench) -> list[StepResult]:
    """`meltano run incremental_sync` as it runs every two hours: after 0.1 % changed.

    The measured run is a steady-state one, i.e. it follows another incremental run, as every
    scheduled run but the first after a full sync does. So a settling run goes first (its
    own row): after a full sync it finds the bookmark `wms-ops guard` seeded from the snapshot
    (orchestrate/bookmarks.py) and fetches only the lookback overlap; without a full sync in
    this bench (`--only incremental`) it sets the bookmark and reads everything. It also fills
    what a schedule keeps between runs (the tap's discovery cache). Then the simulator changes
    `scale / 1000` records and the measured run fetches those, plus the lookback overlap.
    """
    rows: list[StepResult] = []
    after_full = bench.full_sync_wall_s is not None
    label0 = ("meltano run incremental_sync (first after the full sync)" if after_full
              else "meltano run incremental_sync (first run, sets bookmark)")
    run, log = _meltano(bench, "incremental_sync", "incremental-first.log")
    if run.returncode != 0:
        return [_failed(bench, "incremental_first", label0, run, log)]
    audit = warehouse.last_run_audit(bench.path("warehouse.db"), "incremental_sync")
    rows.append(bench.row("incremental_first", label0, _audited(audit), run,
                          note=_share_note(bench, run.wall_s), detail={"audit": audit}))

    changes = max(1, round(bench.sim.scale * CHANGE_SHARE))
    report = bench.sim.apply_changes(update=changes)
    changed = _changed_ids(report)
    label = f"meltano run incremental_sync ({CHANGE_SHARE:.1%} changed)"
    run, log = _meltano(bench, "incremental_sync", "incremental.log")
    if run.returncode != 0:
        return [*rows, _failed(bench, "incremental", label, run, log)]
    audit = warehouse.last_run_audit(bench.path("warehouse.db"), "incremental_sync")
    share = (run.wall_s / bench.full_sync_wall_s) if bench.full_sync_wall_s else None
    note = f"{changed} records changed" + (f"; {_share_note(bench, run.wall_s)}" if share else "")
    rows.append(bench.row("incremental", label, _audited(audit), run, note=note,
                          detail={"changed": changed, "audit": audit,
                                  "share_of_full_sync_wall": share}))
    return rows


def _share_note(bench: Bench, wall_s: float) -> str:
    if not bench.full_sync_wall_s:
        return ""
    return f"{wall_s / bench.full_sync_wall_s:.1%} of full sync wall"


def _audited(audit: dict[str, int] | None) -> int | None:
    """Records the target took in during a run, from its load audit (None without one)."""
    if not audit:
        return None
    return sum(audit.get(k, 0) for k in ("inserted", "updated", "unchanged", "rejected"))


def _changed_ids(report: Any) -> int:
    """Records the simulator says it changed, whatever the exact shape of its report."""
    if isinstance(report, list):
        return len(report) if all(isinstance(x, int) for x in report) else sum(
            _changed_ids(x) for x in report)
    if isinstance(report, dict):
        return sum(_changed_ids(v) for v in report.values())
    return 0


RUNNERS = {"floor": floor, "tap": tap, "target": target, "full_sync": full_sync,
           "incremental": incremental}
