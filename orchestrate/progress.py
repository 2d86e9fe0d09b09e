"""The running runs: where the guard keeps them, how status, dashboard and check read them.

Why files and not the ops DB: progress changes every few seconds for hours, and must be
readable while a run holds its locks; the ops DB keeps what is worth keeping (outcomes, alerts).
So, next to the ops DB, `running/` holds per guarded run:

- `<pipeline>.<run id>.run.json`, written by the guard: pipeline, environment, run id, host,
  guard pid, start, and the projected-overrun latch (so the early warning holds for the rest
  of the run and is raised once);
- `<pipeline>.<run id>.progress.json`, written by the tap every `progress_interval_seconds`
  (the guard names it through `WMS_PROGRESS_FILE`; the tap imports nothing of ours): percent,
  rows, total, rate and ETA per entity and for the run, the tap's pid, a heartbeat.

Both are written whole (temp + rename). A run is *gone* (killed, host lost) when on this host
neither the guard's nor the tap's pid is alive, or, seen from another host, its heartbeat is
older than `STALE_AFTER_INTERVALS` intervals (at least `running_stale_seconds`, by default
`MIN_STALE_SECONDS`): status and the dashboard show it as gone, never as running. When the
guard ends it moves the last figures to `finished/<run id>.json` (the dashboard's run history
shows them); the next guard of the pipeline moves a gone run's files there too.

With `ops_db_url` set, the guard also mirrors its run into the shared `live_runs` table, and
status, the dashboard and the early warning read the other hosts' runs from there
(`live_table.py`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import typing as t
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orchestrate.processes import pid_alive
from orchestrate.timeutil import human_duration, iso, parse_ts, utcnow

if t.TYPE_CHECKING:
    from orchestrate.config import OpsConfig, Pipeline
    from orchestrate.live_table import LiveMirror
    from orchestrate.opsdb import OpsDB

log = logging.getLogger("wms_ops.progress")

#: The tap writes its progress file where this variable says (tap_oracle_wms/progress.py).
PROGRESS_FILE_ENV = "WMS_PROGRESS_FILE"
STALE_AFTER_INTERVALS = 10
MIN_STALE_SECONDS = 300.0  # the default of the setting running_stale_seconds
KEEP_FINISHED = 200


def running_dir(cfg: OpsConfig) -> Path:
    return cfg.ops_db_path.parent / "running"


def finished_dir(cfg: OpsConfig) -> Path:
    return cfg.ops_db_path.parent / "finished"


def write_json(path: Path, payload: dict[str, t.Any]) -> None:
    """Whole or not at all: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, t.Any] | None:
    """The file's object, or None (absent, unreadable, or not an object: untrusted)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def as_number(value: t.Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass
class LiveRun:
    """A guarded run as the files show it now."""

    pipeline: str
    environment: str
    run_id: str
    host: str
    pid: int | None
    started_at: datetime | None
    state: str  # running / gone
    progress: dict[str, t.Any] | None = None
    latch: dict[str, t.Any] | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def run(self) -> dict[str, t.Any]:
        run = (self.progress or {}).get("run")
        return run if isinstance(run, dict) else {}

    @property
    def percent(self) -> float | None:
        return as_number(self.run.get("percent"))

    @property
    def eta_seconds(self) -> float | None:
        return as_number(self.run.get("eta_seconds"))

    def projected_seconds(self, now: datetime) -> float | None:
        """Elapsed plus ETA: how long the whole run will have taken."""
        eta = self.eta_seconds
        if eta is None or self.started_at is None:
            return None
        return (now - self.started_at).total_seconds() + eta

    def figures(self) -> str:
        """`43% (860,000 of ~2,000,000 rows), 412 rows/s, ETA 0:46:10`."""
        run = self.run
        rows, total = as_number(run.get("rows")), as_number(run.get("total"))
        rate, percent = as_number(run.get("rate")) or 0.0, self.percent
        if rows is None:
            return "no progress reported yet"
        if percent is None or total is None:
            return f"{rows:,.0f} rows, total not known yet, {rate:,.0f} rows/s"
        return (f"{percent:.0f}% ({rows:,.0f} of ~{total:,.0f} rows), {rate:,.0f} rows/s, "
                f"ETA {_clock(self.eta_seconds)}")

    def entities(self) -> list[dict[str, t.Any]]:
        items = (self.progress or {}).get("entities")
        return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []

    def entity_lines(self) -> list[str]:
        """`order_dtl: 43%, 860,000 rows` for each entity being written."""
        out = []
        for e in self.entities():
            if e.get("started") and not e.get("done"):
                percent = as_number(e.get("percent"))
                rows = as_number(e.get("rows")) or 0
                share = "?" if percent is None else f"{percent:.0f}%"
                out.append(f"{str(e.get('name'))[:64]}: {share}, {rows:,.0f} rows")
        return out

    def summary(self, now: datetime) -> str:
        since = self.started_at.strftime("%Y-%m-%d %H:%M UTC") if self.started_at else "?"
        took = human_duration((now - self.started_at).total_seconds()) if self.started_at else "?"
        where = f"run {self.run_id}, host {self.host}, pid {self.pid}"
        if self.state == "gone":
            return (f"GONE (not running: its processes ended without finishing, e.g. killed) "
                    f"started {since}; last seen {self.figures()} [{where}]")
        return f"running since {since} ({took}): {self.figures()} [{where}]"


def _stale_after(cfg: OpsConfig, progress: dict[str, t.Any] | None) -> float:
    interval = as_number((progress or {}).get("interval")) or 15.0
    return max(cfg.running_stale_seconds, STALE_AFTER_INTERVALS * interval)


def _state(cfg: OpsConfig, run: dict[str, t.Any], progress: dict[str, t.Any] | None,
           now: datetime) -> str:
    if run.get("host") == socket.gethostname():
        pids = [run.get("pid"), (progress or {}).get("pid")]
        return "running" if any(pid_alive(p) for p in pids) else "gone"
    beat = parse_ts((progress or {}).get("updated_at") or run.get("started_at"))
    if beat is None or (now - beat).total_seconds() > _stale_after(cfg, progress):
        return "gone"
    return "running"


def live_runs(cfg: OpsConfig, now: datetime | None = None,
              ops: OpsDB | None = None) -> list[LiveRun]:
    """Every guarded run with files in `running/`, running or gone, oldest first; with
    `ops_db_url` set and its `ops` given, also every host's runs in `live_runs` (a run with
    files here is taken from its files: they are fresher)."""
    now = now or utcnow()
    out = []
    for path in sorted(running_dir(cfg).glob("*.run.json")):
        run = read_json(path)
        if run is None:
            continue
        progress_path = path.with_name(path.name.removesuffix(".run.json") + ".progress.json")
        progress = read_json(progress_path)
        pid = run.get("pid")
        latch = run.get("projected_over")
        out.append(LiveRun(
            pipeline=str(run.get("pipeline")), environment=str(run.get("environment")),
            run_id=str(run.get("run_id")), host=str(run.get("host")),
            pid=pid if isinstance(pid, int) else None, started_at=parse_ts(run.get("started_at")),
            state=_state(cfg, run, progress, now), progress=progress,
            latch=latch if isinstance(latch, dict) else None, files=[path, progress_path]))
    if ops is not None and cfg.ops_db_url:
        from orchestrate.live_table import shared_runs

        here = {r.run_id for r in out}
        out.extend(r for r in shared_runs(cfg, ops, now) if r.run_id not in here)
    out.sort(key=lambda r: r.started_at or now)
    return out


def running_for(cfg: OpsConfig, now: datetime | None = None,
                ops: OpsDB | None = None) -> dict[str, LiveRun]:
    """The newest live run per pipeline of this environment (running preferred to gone)."""
    best: dict[str, LiveRun] = {}
    for run in live_runs(cfg, now, ops):
        if run.environment != cfg.environment:
            continue
        if run.pipeline not in best or run.state == "running" or best[run.pipeline].state == "gone":
            best[run.pipeline] = run
    return best


def _archive(cfg: OpsConfig, run: dict[str, t.Any], progress: dict[str, t.Any] | None,
             outcome: str) -> None:
    done = finished_dir(cfg)
    write_json(done / f"{run.get('run_id')}.json", {**run, "outcome": outcome,
                                                     "progress": progress})
    kept = sorted(done.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in kept[:-KEEP_FINISHED]:
        with contextlib.suppress(OSError):
            old.unlink()


def final_figures(cfg: OpsConfig, run_id: str, ops: OpsDB | None = None) -> dict[str, t.Any] | None:
    """The last figures a finished run reported (run history); a run of another host's,
    from `live_runs` when `ops_db_url` is set."""
    data = read_json(finished_dir(cfg) / f"{run_id}.json")
    progress = (data or {}).get("progress")
    run = progress.get("run") if isinstance(progress, dict) else None
    if not isinstance(run, dict) and ops is not None and cfg.ops_db_url:
        from orchestrate.live_table import final_row_figures

        return final_row_figures(ops, run_id)
    return run if isinstance(run, dict) else None


class RunTracker:
    """The guard's side: announce the run, name the tap's progress file, watch the projection
    (raising the early warning through `check` once it passes the threshold), clean up."""

    def __init__(self, cfg: OpsConfig, p: Pipeline, run_id: str) -> None:
        self.cfg, self.pipeline, self.run_id = cfg, p, run_id
        stem = running_dir(cfg) / f"{p.name}.{run_id}"
        self.run_path = Path(f"{stem}.run.json")
        self.progress_path = Path(f"{stem}.progress.json")
        self.record: dict[str, t.Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mirror: LiveMirror | None = None
        self.beat = 1.0
        if cfg.ops_db_url:  # the other hosts see the run through the shared ops DB
            from orchestrate.live_table import LiveMirror

            self.mirror = LiveMirror(cfg)

    def begin(self) -> dict[str, str]:
        """Write the run file; returns the environment entries for the inner run."""
        self._sweep_gone()
        self.record = {"pipeline": self.pipeline.name, "environment": self.cfg.environment,
                       "run_id": self.run_id, "host": socket.gethostname(), "pid": os.getpid(),
                       "started_at": iso(utcnow())}
        try:
            with contextlib.suppress(FileNotFoundError):
                self.progress_path.unlink()
            write_json(self.run_path, self.record)
        except OSError as exc:  # progress is for watching: never a reason not to run
            log.warning("guard: running run not announced in %s (%s); status and the dashboard "
                        "will not show its progress", self.run_path.parent, exc)
            return {}
        return {PROGRESS_FILE_ENV: str(self.progress_path)}

    def _sweep_gone(self) -> None:
        for run in live_runs(self.cfg):
            if run.pipeline == self.pipeline.name and run.state == "gone":
                raw = read_json(run.files[0]) or {}
                with contextlib.suppress(OSError):
                    _archive(self.cfg, raw, run.progress, "gone")
                for path in run.files:
                    with contextlib.suppress(OSError):
                        path.unlink()

    def watch(self, on_over: t.Callable[[], None] | None) -> None:
        """Poll the tap's figures (at its own interval); call `on_over` once the projected
        duration first passes the pipeline's warning threshold; mirror the run into the
        shared ops DB each time (with `ops_db_url`). Nothing to do: no thread."""
        if on_over is None and self.mirror is None:
            return
        self._thread = threading.Thread(target=self._watch, args=(on_over,),
                                        name="progress-watch", daemon=True)
        self._thread.start()

    def _watch(self, on_over: t.Callable[[], None] | None) -> None:
        wait = 0.0 if self.mirror is not None else 1.0  # other hosts learn of the run at once
        while not self._stop.wait(wait):
            progress = read_json(self.progress_path)
            if progress is not None:
                wait = min(max(as_number(progress.get("interval")) or 15.0, 0.2), 30.0)
            if self.mirror is not None:
                # A shared database write per beat: not more than once a second.
                self.beat = wait = max(wait, 1.0)
                self.mirror.publish(self.record, progress, "running", self.beat)
            if progress is None or on_over is None:
                continue
            if self._over(progress):
                try:
                    write_json(self.run_path, self.record)
                    on_over()
                except Exception:
                    log.exception("guard: the early warning of %s failed", self.pipeline.name)
                if self.mirror is None:
                    return
                on_over = None  # once per run; the mirror goes on

    def _over(self, progress: dict[str, t.Any]) -> bool:
        """Projected past the threshold: latch it in the record (and say so)."""
        now = utcnow()
        run = LiveRun(self.pipeline.name, self.cfg.environment, self.run_id, "", None,
                      parse_ts(self.record["started_at"]), "running", progress)
        projected = run.projected_seconds(now)
        if projected is None or projected <= self.pipeline.warning_minutes * 60:
            return False
        self.record["projected_over"] = {"at": iso(now), "seconds": projected,
                                         "figures": run.figures()}
        return True

    def end(self, outcome: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        progress = read_json(self.progress_path)
        mirror = self.mirror
        if mirror is not None and self._thread is not None and self._thread.is_alive():
            from orchestrate.live_table import LiveMirror  # the watcher is stuck in its write

            mirror = LiveMirror(self.cfg, swept=True)
        if mirror is not None:  # the final figures, for every host
            mirror.publish(self.record, progress,
                           "finished" if outcome == "success" else "failed", self.beat)
            mirror.close()
        try:
            _archive(self.cfg, self.record, progress, outcome)
        except OSError as exc:
            log.warning("guard: final progress of %s not kept: %s", self.run_id, exc)
        for path in (self.run_path, self.progress_path):
            with contextlib.suppress(OSError):
                path.unlink()
