"""Run history: Meltano's run records joined with the target's audit and the guard's log.

Meltano knows when a run started, ended and how it finished (and the bookmark it reached); the
target's LOAD_AUDIT knows what each run did per entity (joined on MELTANO_RUN_ID, which the
guard sets for the inner `meltano run`); only the guard knows about runs it skipped. This module
merges the three into one list of `RunRecord`s that `history`, `check` and `dashboard` share.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from orchestrate.config import OpsConfig
from orchestrate.meltano_runs import read_runs
from orchestrate.ops_tables import GUARD_RUNS
from orchestrate.opsdb import OpsDB
from orchestrate.timeutil import human_duration, iso, parse_ts, utcnow
from orchestrate.warehouse import Warehouse

OUTCOME = {"SUCCESS": "success", "FAIL": "failed", "DEAD": "failed", "STALE": "failed",
           "RUNNING": "running", "IDLE": "running"}


@dataclass
class RunRecord:
    """One run of one pipeline as ops reports it."""

    pipeline: str
    environment: str
    run_id: str
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str  # success / failed / running / skipped
    detail: str | None = None  # Meltano error, skip reason, "stale heartbeat"
    entities: list[dict[str, Any]] = field(default_factory=list)
    bookmarks: dict[str, str] = field(default_factory=dict)
    source: str = "meltano"  # meltano / guard
    #: What the tap read, from its last progress report: {"rows": int, "rate": rows/s}; None
    #: when the run left no figures (not guarded, progress off, or older than the figures).
    read: dict[str, Any] | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Wall time; a running run counts up to now."""
        if self.started_at is None:
            return None
        end = self.ended_at or (utcnow() if self.outcome == "running" else None)
        return None if end is None else (end - self.started_at).total_seconds()

    def total(self, count: str) -> int:
        """Sum of one count over the entities."""
        return sum(int(e.get(count) or 0) for e in self.entities)

    @property
    def bookmark(self) -> str | None:
        """The latest bookmark over the streams (UTC text of fixed width compares as time)."""
        return max(self.bookmarks.values()) if self.bookmarks else None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (ISO timestamps, duration included)."""
        data = asdict(self)
        data["started_at"], data["ended_at"] = iso(self.started_at), iso(self.ended_at)
        data["duration_seconds"] = self.duration_seconds
        return data


def build_history(
    cfg: OpsConfig,
    ops: OpsDB,
    pipeline: str | None = None,
    since: datetime | None = None,
    all_environments: bool = False,
) -> list[RunRecord]:
    """Every run (and skip) of the selected pipelines, oldest first."""
    pipelines = [cfg.pipeline(pipeline)] if pipeline else list(cfg.pipelines.values())
    by_suffix = {p.state_suffix: p.name for p in pipelines}
    env = None if all_environments else cfg.environment
    runs = read_runs(cfg.system_db_url, list(by_suffix), environment=env, since=since)
    counts: dict[str, list] = {}
    if cfg.warehouse_url:
        wh = Warehouse(cfg.warehouse_url, cfg.table_prefix, cfg.target_schema)
        try:
            counts = wh.audit_counts([r.run_id for r in runs])
        finally:
            wh.dispose()

    records: list[RunRecord] = []
    for run in runs:
        detail = run.error or ("heartbeat stopped (process killed?)" if run.status == "STALE"
                               else None)
        records.append(
            RunRecord(
                pipeline=by_suffix[run.state_id.rpartition(":")[2]],
                environment=run.environment,
                run_id=run.run_id,
                started_at=run.started_at,
                ended_at=run.ended_at,
                outcome=OUTCOME.get(run.status, run.status.lower()),
                detail=detail,
                entities=[{"stream": s.stream, **s.effective} for s in counts.get(run.run_id, [])],
                bookmarks=run.bookmarks,
            )
        )

    known = {r.run_id for r in records}
    names = [p.name for p in pipelines]
    query = sa.select(GUARD_RUNS).where(GUARD_RUNS.c.pipeline.in_(names))
    if env is not None:
        query = query.where(GUARD_RUNS.c.environment == env)
    for row in ops.query(query.order_by(GUARD_RUNS.c.id)):
        started = parse_ts(row["started_at"])
        if since is not None and started is not None and started < since:
            continue
        # Skips never reach Meltano; a guard run Meltano never recorded died before its start.
        orphan = row["run_id"] not in known and row["outcome"] != "running"
        if row["outcome"] == "skipped" or orphan:
            records.append(
                RunRecord(
                    pipeline=row["pipeline"],
                    environment=row["environment"],
                    run_id=row["run_id"],
                    started_at=started,
                    ended_at=parse_ts(row["ended_at"]),
                    outcome=row["outcome"],
                    detail=row["reason"],
                    source="guard",
                )
            )
    for record in records:
        record.read = read_figures(cfg, ops, record.run_id)
    records.sort(key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC))
    return records


def read_figures(cfg: OpsConfig, ops: OpsDB, run_id: str) -> dict[str, Any] | None:
    """Rows the tap read and its rate, as its last progress report had them (the run's final
    figures outlive it: history keeps them, not only the dashboard)."""
    from orchestrate.progress import final_figures

    fig = final_figures(cfg, run_id, ops) or {}
    rows, rate = fig.get("rows"), fig.get("rate")
    if not isinstance(rows, int) or isinstance(rows, bool):
        return None
    return {"rows": rows, "rate": float(rate) if isinstance(rate, int | float) else None}


def read_text(read: dict[str, Any] | None) -> str:
    """`1,200 @ 95/s`, or `-`."""
    if not read:
        return "-"
    rate = read.get("rate")
    return f"{read['rows']:,}" + (f" @ {rate:,.0f}/s" if rate is not None else "")


def format_json(records: list[RunRecord]) -> str:
    """`--format json`: a list of run objects."""
    return json.dumps([r.to_json() for r in records], indent=2, default=str)


def format_table(records: list[RunRecord]) -> str:
    """`--format table`: one line per run, newest first, one indented line per entity."""
    if not records:
        return "no runs recorded"
    header = ("PIPELINE", "ENV", "START (UTC)", "END (UTC)", "DURATION", "OUTCOME", "READ",
              "INS", "UPD", "DEL", "REJ", "BOOKMARK")
    lines = []
    for r in reversed(records):
        lines.append((
            r.pipeline, r.environment,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at else "-",
            r.ended_at.strftime("%Y-%m-%d %H:%M:%S") if r.ended_at else "-",
            human_duration(r.duration_seconds), r.outcome, read_text(r.read),
            str(r.total("inserted")), str(r.total("updated")), str(r.total("deleted")),
            str(r.total("rejected")), r.bookmark or "-",
        ))
        if r.detail:
            lines.append(("", "", f"  {r.outcome}: {r.detail}"[:200], *[""] * 9))
        for e in r.entities:
            lines.append((
                "", "", f"  {e['stream']}", "", "", "", "",
                str(e.get("inserted", 0)), str(e.get("updated", 0)), str(e.get("deleted", 0)),
                str(e.get("rejected", 0)), r.bookmarks.get(e["stream"], ""),
            ))
    widths = [max(len(h), *(len(line[i]) for line in lines if len(line[i]) < 40))
              for i, h in enumerate(header)]
    def fmt(cols: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()
    return "\n".join([fmt(header), *(fmt(line) for line in lines)])
