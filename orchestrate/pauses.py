"""Pauses (set by `wms-ops pause/resume`) and maintenance windows (from config).

The guard asks `blocking_reason()` before it starts a load; `check` asks the same question so a
deliberately paused pipeline does not page anyone for being stale. Maintenance windows are either
cron-like (`{"cron": "0 1 * * 0", "duration_minutes": 120}`, evaluated in
`maintenance_timezone`) or a date range (`{"start": ISO, "end": ISO}`); each may name the
`pipelines` it applies to (default: all).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from orchestrate.config import OpsConfig
from orchestrate.ops_tables import PAUSES
from orchestrate.opsdb import OpsDB
from orchestrate.timeutil import iso, parse_duration, parse_ts, utcnow

CRON_ALIASES = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _field(spec: str, lo: int, hi: int) -> set[int]:
    values: set[int] = set()
    for part in spec.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if rng == "*":
            start, end = lo, hi
        elif "-" in rng:
            a, b = rng.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(rng)
            if step_s:
                end = hi
        values.update(range(start, end + 1, step))
    return values


def cron_matches(expr: str, when: datetime) -> bool:
    """Does a 5-field cron expression (or @alias) fire at this minute? Vixie DOM/DOW rules."""
    fields = CRON_ALIASES.get(expr.strip(), expr).split()
    if len(fields) != 5:
        raise ValueError(f"not a 5-field cron expression: {expr!r}")
    minute, hour, dom, month, dow = (_field(f, *r) for f, r in zip(fields, _RANGES, strict=True))
    dow = {d % 7 for d in dow}
    weekday = (when.weekday() + 1) % 7  # cron: 0 = Sunday
    if fields[2] != "*" and fields[4] != "*":
        day_ok = when.day in dom or weekday in dow
    else:
        day_ok = when.day in dom and weekday in dow
    return when.minute in minute and when.hour in hour and when.month in month and day_ok


def window_active(window: dict[str, Any], now: datetime, tz: str = "UTC") -> bool:
    """Is `now` inside this maintenance window?"""
    if window.get("cron"):
        if "duration" in window:
            duration = parse_duration(str(window["duration"]))
        else:
            duration = timedelta(minutes=float(window.get("duration_minutes", 60)))
        local = now.astimezone(ZoneInfo(tz)).replace(second=0, microsecond=0)
        steps = int(duration.total_seconds() // 60)
        return any(
            cron_matches(window["cron"], local - timedelta(minutes=i)) for i in range(steps)
        )
    start, end = parse_ts(window.get("start")), parse_ts(window.get("end"))
    return (start is None or start <= now) and (end is None or now < end) and bool(start or end)


def window_reason(cfg: OpsConfig, pipeline: str, now: datetime) -> str | None:
    """Why a maintenance window blocks this pipeline now, or None."""
    for window in cfg.maintenance_windows:
        applies = window.get("pipelines") or list(cfg.pipelines)
        if pipeline in applies and window_active(window, now, cfg.maintenance_timezone):
            what = window.get("cron") or f"{window.get('start')} .. {window.get('end')}"
            return f"maintenance window {what}" + (
                f" ({window['reason']})" if window.get("reason") else ""
            )
    return None


def _in_force(pipeline: str, environment: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The pauses of a pipeline that apply to an environment: its own and '*' (all)."""
    return PAUSES.c.pipeline == pipeline, PAUSES.c.environment.in_([environment, "*"])


def active_pause(ops: OpsDB, pipeline: str, environment: str, now: datetime) -> dict | None:
    """The pause in force for this pipeline and environment (or '*'), if any."""
    for row in ops.query(sa.select(PAUSES).where(*_in_force(pipeline, environment))):
        until = parse_ts(row["until"])
        if until is None or now < until:
            return dict(row)
    return None


def blocking_reason(cfg: OpsConfig, ops: OpsDB, pipeline: str, now: datetime | None = None,
                    include_windows: bool = True) -> str | None:
    """Why this pipeline must not run now (pause or maintenance window), or None."""
    now = now or utcnow()
    pause = active_pause(ops, pipeline, cfg.environment, now)
    if pause is not None:
        until = pause["until"] or "resumed"
        why = f": {pause['reason']}" if pause["reason"] else ""
        return f"paused until {until}{why}"
    return window_reason(cfg, pipeline, now) if include_windows else None


def pause(ops: OpsDB, pipeline: str, environment: str, until: datetime | None,
          reason: str | None) -> None:
    """Pause a pipeline (replaces an earlier pause of the same pipeline and environment)."""
    with ops.transaction() as tx:
        tx.execute(PAUSES.delete().where(PAUSES.c.pipeline == pipeline,
                                         PAUSES.c.environment == environment))
        tx.insert(PAUSES, pipeline=pipeline, environment=environment, paused_at=iso(utcnow()),
                  until=iso(until) if until else None, reason=reason)


def resume(ops: OpsDB, pipeline: str, environment: str) -> int:
    """Lift pauses of a pipeline (for this environment and '*'); returns how many."""
    return ops.execute(PAUSES.delete().where(*_in_force(pipeline, environment)))
