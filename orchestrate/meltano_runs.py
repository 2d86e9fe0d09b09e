"""Read Meltano's own run records (system DB table `runs`) and saved state (table `state`).

Meltano 4.4.1 writes one `runs` row per EL block: `job_name` is the state id
(`dev:tap-…-to-target-…`), `state` is IDLE/RUNNING/SUCCESS/FAIL/DEAD/STATE_EDIT, `run_id` is the
run UUID as 32 hex digits, `payload` holds the Singer state reached (`singer_state`) and the
error, `last_heartbeat_at` ticks every second while the run is alive. A RUNNING row whose
heartbeat stopped more than 5 minutes ago belongs to a killed process (Meltano only marks it
failed on its next run), so we call it STALE here and treat it as a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from orchestrate.dbaccess import reader_engine
from orchestrate.timeutil import parse_ts, utcnow

HEARTBEAT_VALID = timedelta(minutes=5)
HEARTBEATLESS_VALID = timedelta(hours=24)


def norm_run_id(run_id: object) -> str:
    """One spelling of a run UUID: 32 lower-case hex digits (Meltano stores it so)."""
    return str(run_id or "").replace("-", "").strip().lower()


@dataclass
class MeltanoRun:
    """One row of `runs`, typed."""

    run_id: str
    state_id: str
    environment: str
    status: str  # RUNNING / SUCCESS / FAIL / DEAD / STALE
    started_at: datetime | None
    ended_at: datetime | None
    last_heartbeat_at: datetime | None
    trigger: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """Meltano's error text for a failed run."""
        return self.payload.get("error")

    @property
    def bookmarks(self) -> dict[str, str]:
        """Replication-key value per stream in the state this run reached."""
        return bookmarks_of(self.payload.get("singer_state") or {})


def bookmarks_of(singer_state: dict[str, Any]) -> dict[str, str]:
    """Pull `replication_key_value` per stream out of SDK-shaped state (incl. progress markers)."""
    out: dict[str, str] = {}
    for stream, mark in (singer_state.get("bookmarks") or {}).items():
        if not isinstance(mark, dict):
            continue
        value = mark.get("replication_key_value")
        if value is None:
            value = (mark.get("progress_markers") or {}).get("replication_key_value")
        if value is not None:
            out[stream] = str(value)
    return out


def _status(raw: str, heartbeat: datetime | None, started: datetime | None) -> str:
    if raw != "RUNNING":
        return raw
    now = utcnow()
    if heartbeat is not None and heartbeat + HEARTBEAT_VALID < now:
        return "STALE"
    if heartbeat is None and started is not None and started + HEARTBEATLESS_VALID < now:
        return "STALE"
    return raw


def read_runs(
    url: str,
    suffixes: list[str],
    environment: str | None = None,
    since: datetime | None = None,
) -> list[MeltanoRun]:
    """Runs whose state id ends in one of `suffixes` (`tap-to-target`), oldest first.

    `environment=None` means every environment. An absent system DB yields no runs (and is
    not created: Meltano switches a new one to WAL and migrates it, which an empty file made
    by us would only get in the way of).
    """
    engine = reader_engine(url)
    if engine is None:
        return []
    try:
        if not sa.inspect(engine).has_table("runs"):
            return []
        query = sa.text(
            "SELECT job_name, run_id, state, started_at, ended_at, payload, trigger, "
            "last_heartbeat_at FROM runs WHERE state <> 'STATE_EDIT'"
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    runs = []
    for job_name, run_id, state, started, ended, payload, trigger, heartbeat in rows:
        env_name, _, suffix = str(job_name).rpartition(":")
        if suffix not in suffixes or (environment is not None and env_name != environment):
            continue
        started_at, heartbeat_at = parse_ts(started), parse_ts(heartbeat)
        if since is not None and started_at is not None and started_at < since:
            continue
        try:
            body = json.loads(payload) if isinstance(payload, str) else dict(payload or {})
        except json.JSONDecodeError:
            body = {}
        runs.append(
            MeltanoRun(
                run_id=norm_run_id(run_id),
                state_id=job_name,
                environment=env_name,
                status=_status(str(state), heartbeat_at, started_at),
                started_at=started_at,
                ended_at=parse_ts(ended),
                last_heartbeat_at=heartbeat_at,
                trigger=trigger,
                payload=body,
            )
        )
    runs.sort(key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC))
    return runs


def read_state(url: str, state_id: str) -> dict[str, Any]:
    """The completed Singer state Meltano holds for a state id (system DB backend only)."""
    engine = reader_engine(url)
    if engine is None:
        return {}
    try:
        if not sa.inspect(engine).has_table("state"):
            return {}
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT completed_state FROM state WHERE state_id = :sid"),
                {"sid": state_id},
            ).first()
    finally:
        engine.dispose()
    if not row or not row[0]:
        return {}
    body = json.loads(row[0]) if isinstance(row[0], str) else dict(row[0])
    return body.get("singer_state") or {}
