"""The early overrun warning: a running run projected past its pipeline's threshold.

The guard's watcher (`progress.RunTracker`) latches the projection in the run's record and runs
`check_now`; every check (cron, the end of a job, any host with `ops_db_url`) turns the running
runs it sees into conditions here.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from orchestrate.progress import as_number, running_for
from orchestrate.timeutil import human_duration, utcnow

if t.TYPE_CHECKING:
    from orchestrate.config import OpsConfig
    from orchestrate.opsdb import OpsDB
    from orchestrate.rules import Condition


def projected_conditions(cfg: OpsConfig, existing: list[Condition],
                         now: datetime | None = None,
                         ops: OpsDB | None = None) -> list[Condition]:
    """WARNING for each running run projected (or latched as projected) past its threshold,
    under the `duration` rule's key: the same alert as an actual overrun, so it is announced
    once per run and clears with the run if the run ends in time."""
    from orchestrate.rules import WARNING, Condition

    now = now or utcnow()
    taken = {(c.pipeline, c.rule) for c in existing}
    out = []
    for name, run in running_for(cfg, now, ops).items():
        p = cfg.pipelines.get(name)
        if p is None or run.state != "running" or (name, "duration") in taken:
            continue
        limit = p.warning_minutes * 60
        projected = run.projected_seconds(now)
        if run.latch and (projected is None or projected <= limit):
            projected = as_number(run.latch.get("seconds"))
        if projected is None or projected <= limit:
            continue
        out.append(Condition(
            cfg.environment, name, "duration", WARNING,
            f"{name} projected {human_duration(projected)}, over the "
            f"{human_duration(limit)} threshold (run {run.run_id}: {run.figures()})"))
    return out


def check_now(cfg: OpsConfig) -> None:
    """`check` from the guard's watcher thread (its own ops DB connection)."""
    from orchestrate.alerts import run_check
    from orchestrate.opsdb import open_ops_db

    ops = open_ops_db(cfg)  # the shared ops DB when ops_db_url is set: one alert, all hosts
    try:
        run_check(cfg, ops)
    finally:
        ops.close()
