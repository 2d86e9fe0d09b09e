"""The running runs shared by every host: the `live_runs` table of the shared ops DB.

The files of `progress.py` are seen only on the host that runs the guard. With `ops_db_url`
set, the guard's watcher thread also mirrors its run into `live_runs` (one row per run id):
its record, the tap's latest figures and a heartbeat, every interval and once more when the
run ends (final figures, state finished/failed). Status, the dashboard and the early warning on
any host read the rows still `running` and merge them with their own files (same run id: the
file wins, it is fresher). Another host's run whose heartbeat is older than the stale age
(`STALE_AFTER_INTERVALS` beats, at least `running_stale_seconds`) is gone, never running: its
guard was killed or its host lost. The next guard of that pipeline, on any host, marks it so.

Every write is an update, then an insert when no row was there, inside the writer-serialised
transaction (`OpsDB.transaction`): one text for SQLite, PostgreSQL and Oracle (no MERGE, no
ON CONFLICT). What comes from the tap's file is untrusted: numbers are checked finite, names
clipped, and the entity list is built to fit its column rather than cut.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import typing as t
from datetime import datetime, timedelta

import sqlalchemy as sa

from orchestrate.ops_tables import LIVE_RUNS
from orchestrate.timeutil import iso, parse_ts, utcnow

if t.TYPE_CHECKING:
    from orchestrate.config import OpsConfig
    from orchestrate.opsdb import OpsDB
    from orchestrate.progress import LiveRun

log = logging.getLogger("wms_ops.progress")

ENTITIES_BYTES = 4000
#: Ended and gone rows are kept this long (the dashboard's history of another host's runs).
KEEP_ENDED = timedelta(days=7)


def _finite(value: t.Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _count(value: t.Any) -> int | None:
    number = _finite(value)
    return None if number is None or abs(number) >= 1e18 else round(number)


def _entities_text(progress: dict[str, t.Any] | None) -> str | None:
    """The entities being written (name, percent, rows) as JSON of at most 4000 bytes: as
    many as fit, whole; ASCII only (`ensure_ascii`), so characters are bytes."""
    items = (progress or {}).get("entities")
    out: list[dict[str, t.Any]] = []
    text = None
    for e in items if isinstance(items, list) else []:
        if not (isinstance(e, dict) and e.get("started") and not e.get("done")):
            continue
        entry = {"name": str(e.get("name"))[:64], "started": True,
                 "percent": _finite(e.get("percent")), "rows": _count(e.get("rows"))}
        candidate = json.dumps([*out, entry])
        if len(candidate) > ENTITIES_BYTES:
            break
        out.append(entry)
        text = candidate
    return text


def stale_after(cfg: OpsConfig, beat_seconds: float | None) -> float:
    """Seconds without a heartbeat after which a run of another host is gone."""
    from orchestrate.progress import STALE_AFTER_INTERVALS

    return max(cfg.running_stale_seconds, STALE_AFTER_INTERVALS * (beat_seconds or 15.0))


class LiveMirror:
    """The guard's writer of its run's row; never a reason for the run to fail."""

    def __init__(self, cfg: OpsConfig, swept: bool = False) -> None:
        self.cfg = cfg
        self.ops: OpsDB | None = None
        self.swept = swept  # earlier gone runs of the pipeline marked so (first write)
        self.failing = False

    def publish(self, record: dict[str, t.Any], progress: dict[str, t.Any] | None,
                state: str, beat_seconds: float) -> None:
        """Upsert the run's row (opening the shared ops DB on first use)."""
        try:
            if self.ops is None:
                from orchestrate.opsdb import open_ops_db

                self.ops = open_ops_db(self.cfg)
            if not self.swept:
                mark_gone(self.cfg, self.ops, str(record.get("pipeline")))
                self.swept = True
            upsert(self.ops, record, progress, state, beat_seconds)
            if self.failing:
                log.warning("guard: run %s shown to other hosts again", record.get("run_id"))
            self.failing = False
        except Exception as exc:  # watching is not running: say it once, try next time
            if not self.failing:
                log.warning("guard: run %s not shown to other hosts (ops_db_url): %s",
                            record.get("run_id"), type(exc).__name__)
            self.failing = True

    def close(self) -> None:
        if self.ops is not None:
            self.ops.close()
            self.ops = None


def upsert(ops: OpsDB, record: dict[str, t.Any], progress: dict[str, t.Any] | None,
           state: str, beat_seconds: float, now: datetime | None = None) -> None:
    """Write the run's row: update it, or insert it when it is not there yet."""
    run = (progress or {}).get("run")
    run = run if isinstance(run, dict) else {}
    over = record.get("projected_over")
    values: dict[str, t.Any] = {
        "pipeline": str(record.get("pipeline")), "environment": str(record.get("environment")),
        "host": str(record.get("host") or socket.gethostname()),
        "pid": _count(record.get("pid")), "started_at": record.get("started_at"),
        "heartbeat_at": iso(now or utcnow()), "beat_seconds": float(beat_seconds),
        "state": state, "rows_read": _count(run.get("rows")),
        "rows_total": _count(run.get("total")), "pct_done": _finite(run.get("percent")),
        "rows_per_second": _finite(run.get("rate")), "eta_seconds": _finite(run.get("eta_seconds")),
        "over_seconds": _finite(over.get("seconds")) if isinstance(over, dict) else None,
        "entities": _entities_text(progress),
    }
    beat = parse_ts((progress or {}).get("updated_at"))
    values["progress_at"] = iso(beat) if beat else None
    run_id = str(record.get("run_id"))
    with ops.transaction() as tx:
        if not tx.execute(sa.update(LIVE_RUNS).where(LIVE_RUNS.c.run_id == run_id)
                          .values(**values)):
            tx.execute(sa.insert(LIVE_RUNS).values(run_id=run_id, **values))


def mark_gone(cfg: OpsConfig, ops: OpsDB, pipeline: str, now: datetime | None = None) -> int:
    """A new run of `pipeline` starts: its earlier runs still `running` with a stale
    heartbeat are gone (as `RunTracker._sweep_gone` does with files); rows ended long ago
    are dropped. Returns how many were marked gone."""
    now = now or utcnow()
    gone = 0
    with ops.transaction() as tx:
        for row in tx.query(sa.select(LIVE_RUNS.c.run_id, LIVE_RUNS.c.heartbeat_at,
                                      LIVE_RUNS.c.beat_seconds)
                            .where(LIVE_RUNS.c.pipeline == pipeline,
                                   LIVE_RUNS.c.environment == cfg.environment,
                                   LIVE_RUNS.c.state == "running")):
            if _is_stale(cfg, row, now):
                gone += tx.execute(sa.update(LIVE_RUNS)
                                   .where(LIVE_RUNS.c.run_id == row["run_id"])
                                   .values(state="gone"))
        tx.execute(sa.delete(LIVE_RUNS).where(LIVE_RUNS.c.state != "running",
                                              LIVE_RUNS.c.heartbeat_at < iso(now - KEEP_ENDED)))
    return gone


def _is_stale(cfg: OpsConfig, row: t.Mapping[str, t.Any], now: datetime) -> bool:
    beat = parse_ts(row["heartbeat_at"])
    seconds = _finite(row["beat_seconds"])
    return beat is None or (now - beat).total_seconds() > stale_after(cfg, seconds)


def _figure(value: t.Any) -> float | None:
    """A number as the database gives it back (Decimal on some drivers)."""
    return None if value is None else float(value)


def shared_runs(cfg: OpsConfig, ops: OpsDB, now: datetime) -> list[LiveRun]:
    """The runs every host's guards mark `running`, as `LiveRun`s: running while their
    heartbeat is fresh, gone once it is stale."""
    from orchestrate.progress import LiveRun

    out = []
    for row in ops.query(sa.select(LIVE_RUNS).where(LIVE_RUNS.c.state == "running")):
        figures = {"rows": _figure(row["rows_read"]), "total": _figure(row["rows_total"]),
                   "percent": _figure(row["pct_done"]), "rate": _figure(row["rows_per_second"]),
                   "eta_seconds": _figure(row["eta_seconds"])}
        try:
            entities = json.loads(row["entities"] or "[]")  # Oracle: '' is NULL
        except ValueError:
            entities = []
        progress = {"run": {k: v for k, v in figures.items() if v is not None},
                    "entities": entities, "updated_at": row["progress_at"]}
        over = _figure(row["over_seconds"])
        pid = row["pid"]
        out.append(LiveRun(
            pipeline=row["pipeline"], environment=row["environment"], run_id=row["run_id"],
            host=row["host"] or "?", pid=int(pid) if pid is not None else None,
            started_at=parse_ts(row["started_at"]),
            state="gone" if _is_stale(cfg, row, now) else "running", progress=progress,
            latch={"seconds": over} if over is not None else None))
    return out


def final_row_figures(ops: OpsDB, run_id: str) -> dict[str, t.Any] | None:
    """The last figures of a run that ended on any host (run history on the dashboard)."""
    rows = ops.query(sa.select(LIVE_RUNS.c.rows_read, LIVE_RUNS.c.rows_per_second)
                     .where(LIVE_RUNS.c.run_id == run_id))
    if not rows or rows[0]["rows_read"] is None:
        return None
    rate = rows[0]["rows_per_second"]
    return {"rows": int(rows[0]["rows_read"]), "rate": None if rate is None else float(rate)}
