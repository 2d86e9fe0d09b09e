"""`wms-ops check`: evaluate the rules and send each alert once, plus one recovery.

Open alerts live in the ops DB (unique per key while open). The diff between what holds now and
what is open is computed inside one `BEGIN IMMEDIATE` transaction, so two checks running at once
(cron and the end of a job) cannot both announce the same alert; notifications go out after the
commit, so a slow channel never holds the DB lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from orchestrate.channels import AlertEvent, dispatch
from orchestrate.config import OpsConfig
from orchestrate.early_warning import projected_conditions
from orchestrate.history import build_history
from orchestrate.ops_tables import ALERTS, NOTIFICATIONS
from orchestrate.opsdb import OpsDB
from orchestrate.pauses import blocking_reason
from orchestrate.rules import CRITICAL, Condition, evaluate
from orchestrate.timeutil import iso, utcnow

log = logging.getLogger("wms_ops.check")


@dataclass
class CheckResult:
    """What a check found and what it announced."""

    conditions: list[Condition] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    failures: dict[int, dict[str, str | None]] = field(default_factory=dict)

    @property
    def worst(self) -> str | None:
        """CRITICAL, WARNING or None; used for the exit code of `check`."""
        severities = {c.severity for c in self.conditions}
        return CRITICAL if CRITICAL in severities else (severities.pop() if severities else None)


def sync_alerts(ops: OpsDB, environment: str, conditions: list[Condition],
                now: datetime) -> list[AlertEvent]:
    """Reconcile open alerts with current conditions; returns the events to announce."""
    events: list[AlertEvent] = []
    current = {c.key: c for c in conditions}
    with ops.transaction() as tx:
        open_rows = tx.query(_open(environment))
        open_by_key = {r["alert_key"]: r for r in open_rows}
        for key, cond in current.items():
            row = open_by_key.get(key)
            if row is None:
                alert_id = tx.insert(
                    ALERTS, alert_key=key, environment=cond.environment, pipeline=cond.pipeline,
                    rule=cond.rule, severity=cond.severity, message=cond.message,
                    opened_at=iso(now), last_seen_at=iso(now))
                events.append(AlertEvent("open", cond.environment, cond.pipeline, cond.rule,
                                         cond.severity, cond.message, alert_id))
                continue
            tx.execute(ALERTS.update().where(ALERTS.c.id == row["id"]).values(
                last_seen_at=iso(now), message=cond.message, severity=cond.severity))
            if cond.severity == CRITICAL and row["severity"] != CRITICAL:
                events.append(AlertEvent("escalate", cond.environment, cond.pipeline,
                                         cond.rule, cond.severity, cond.message, row["id"]))
        for key, row in open_by_key.items():
            if key not in current:
                tx.execute(ALERTS.update().where(ALERTS.c.id == row["id"])
                           .values(closed_at=iso(now)))
                events.append(AlertEvent(
                    "recovery", row["environment"], row["pipeline"], row["rule"],
                    row["severity"], f"cleared (was: {row['message']})", row["id"],
                ))
    return events


def run_check(cfg: OpsConfig, ops: OpsDB, now: datetime | None = None) -> CheckResult:
    """Evaluate all rules for the current environment and announce changes."""
    now = now or utcnow()
    records = build_history(cfg, ops)
    paused = {
        name for name in cfg.pipelines
        if blocking_reason(cfg, ops, name, now, include_windows=True) is not None
    }
    conditions = evaluate(cfg, records, now, paused)
    conditions += projected_conditions(cfg, conditions, now, ops)  # the early overrun warning
    result = CheckResult(conditions=conditions)
    result.events = sync_alerts(ops, cfg.environment, result.conditions, now)
    for ev in result.events:
        outcome = dispatch(cfg, ev)
        for channel, error in outcome.items():
            ops.insert(NOTIFICATIONS, alert_id=ev.alert_id, event=ev.event, channel=channel,
                       sent_at=iso(utcnow()), ok=int(error is None), error=error)
        if any(outcome.values()):
            result.failures[ev.alert_id] = outcome
    if not result.events:
        log.info("check: %d condition(s), nothing new to announce", len(result.conditions))
    return result


def open_alerts(ops: OpsDB, environment: str) -> list[dict]:
    """Open alerts for the dashboard and the `check` summary."""
    return [dict(r) for r in ops.query(_open(environment).order_by(ALERTS.c.opened_at))]


def _open(environment: str | None) -> sa.Select:
    """The open alerts of an environment (of every one: None)."""
    where = [ALERTS.c.closed_at.is_(None)]
    if environment is not None:
        where.append(ALERTS.c.environment == environment)
    return sa.select(ALERTS).where(*where)
