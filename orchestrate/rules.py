"""Threshold rules: which alert conditions hold right now.

Pure functions over `RunRecord`s so they are easy to test and so `check`, the guard and the
dashboard agree on what is wrong. Keys are stable per condition (not per run), so a condition that
persists over several checks stays one alert and clears with one recovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orchestrate.config import OpsConfig, Pipeline
from orchestrate.history import RunRecord
from orchestrate.timeutil import human_duration

WARNING, CRITICAL = "WARNING", "CRITICAL"


@dataclass(frozen=True)
class Condition:
    """One thing that is wrong now."""

    environment: str
    pipeline: str
    rule: str  # duration / failed / freshness / rejects:<stream> / deletes:<stream>
    severity: str
    message: str

    @property
    def key(self) -> str:
        """Identity of the alert across checks."""
        return f"{self.environment}:{self.pipeline}:{self.rule}"


def _share_rules(cfg: OpsConfig, p: Pipeline, run: RunRecord) -> list[Condition]:
    out = []
    for e in run.entities:
        kept = sum(int(e.get(c) or 0) for c in ("inserted", "updated", "unchanged"))
        for column, verb, limit in (("rejected", "rejects", cfg.reject_share_critical),
                                    ("deleted", "deletes", cfg.delete_share_critical)):
            count = int(e.get(column) or 0)
            if count and count / (kept + count) > limit:
                out.append(Condition(
                    run.environment, p.name, f"{verb}:{e['stream']}", CRITICAL,
                    f"{e['stream']}: {count} of {kept + count} rows {column} in run "
                    f"{run.run_id} ({count / (kept + count):.1%} > {limit:.1%})",
                ))
    return out


def evaluate_pipeline(
    cfg: OpsConfig, p: Pipeline, records: list[RunRecord], now: datetime, paused: bool = False
) -> list[Condition]:
    """Conditions for one pipeline from its records (oldest first, one environment)."""
    env = cfg.environment
    runs = [r for r in records if r.pipeline == p.name and r.outcome != "skipped"]
    out: list[Condition] = []
    if not runs:
        return out
    latest = runs[-1]
    limit = p.warning_minutes * 60
    took = latest.duration_seconds
    if took is not None and took > limit:
        verb = "has been running for" if latest.outcome == "running" else "took"
        out.append(Condition(
            env, p.name, "duration", WARNING,
            f"run {latest.run_id} {verb} {human_duration(took)} "
            f"(threshold {human_duration(limit)})",
        ))
    finished = [r for r in runs if r.outcome != "running"]
    if finished and finished[-1].outcome == "failed":
        last = finished[-1]
        out.append(Condition(
            env, p.name, "failed", CRITICAL,
            f"run {last.run_id} failed: {last.detail or 'no error recorded'}",
        ))
    successes = [r for r in finished if r.outcome == "success"]
    max_age = (p.max_age_minutes + cfg.freshness_grace_minutes) * 60
    if not paused:
        if successes:
            last_ok = successes[-1]
            ended = last_ok.ended_at or last_ok.started_at
            age = (now - ended).total_seconds() if ended else None
            if age is not None and age > max_age:
                out.append(Condition(
                    env, p.name, "freshness", CRITICAL,
                    f"last successful run ended {human_duration(age)} ago (limit "
                    f"{human_duration(p.max_age_minutes * 60)} + "
                    f"{human_duration(cfg.freshness_grace_minutes * 60)} grace)",
                ))
        elif finished and finished[0].started_at:
            age = (now - finished[0].started_at).total_seconds()
            if age > max_age:
                out.append(Condition(
                    env, p.name, "freshness", CRITICAL,
                    f"no successful run since the first attempt {human_duration(age)} ago",
                ))
    if successes:
        out.extend(_share_rules(cfg, p, successes[-1]))
    return out


def evaluate(
    cfg: OpsConfig, records: list[RunRecord], now: datetime, paused: set[str] | None = None
) -> list[Condition]:
    """Conditions over every configured pipeline."""
    paused = paused or set()
    out: list[Condition] = []
    for p in cfg.pipelines.values():
        out.extend(evaluate_pipeline(cfg, p, records, now, paused=p.name in paused))
    return out
