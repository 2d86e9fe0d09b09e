"""The doctor in-process: settings as Meltano would print them for the tap and the target,
wms-ops' own from `WMS_OPS_*`, against the simulator and a SQLite or emulated Oracle warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrate.config import load_config
from orchestrate.doctor import run_checks
from orchestrate.doctor.report import Check
from orchestrate.doctor.settings import DoctorSettings


def tap_settings(sim: Any, **over: Any) -> dict[str, Any]:
    """What `meltano config print tap-oracle-wms-full` gives in dev, pointed at `sim`."""
    return {"base_url": sim.base_url, "auth_method": "basic", "username": sim.username,
            "password": sim.password, "entities": ["allocation", "order_hdr", "order_dtl"],
            "page_size": 1000, "max_parallel_requests": 4, "timeout": 30,
            "replication_key": "mod_ts", **over}


def settings(root: Path, tap: dict[str, Any], target: dict[str, Any] | None = None,
             pipeline: str = "full_sync", **ops: str) -> DoctorSettings:
    env = {"MELTANO_PROJECT_ROOT": str(root), "MELTANO_ENVIRONMENT": "dev",
           "MELTANO_SYS_DIR_ROOT": str(root / ".meltano"),
           **{f"WMS_OPS_{k.upper()}": v for k, v in ops.items()}}
    cfg = load_config(env)
    target = target if target is not None else {
        "sqlalchemy_url": f"sqlite:///{root / 'warehouse.db'}"}
    return DoctorSettings(cfg, cfg.pipeline(pipeline), tap, target)


def run(s: DoctorSettings, **kw: Any) -> list[Check]:
    return list(run_checks(s, **kw))


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {f"{c.group}.{c.name}": c for c in checks}


def failures(checks: list[Check]) -> list[str]:
    return [f"{c.group}.{c.name}" for c in checks if c.status == "fail"]
