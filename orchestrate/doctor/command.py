"""The `doctor` command: read the pipeline's settings from Meltano, run the checks, print one
line per check as it completes (or one JSON document), exit 1 on any failure."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TextIO

from orchestrate.config import OpsConfig, Pipeline
from orchestrate.doctor import run_checks
from orchestrate.doctor.report import Check, Redactor, as_json, exit_code, fail, summary
from orchestrate.doctor.settings import DoctorSettings, SettingsError, plugin_config


def doctor(cfg: OpsConfig, pipeline: str, fmt: str = "text", send_test_alert: bool = False,
           out: TextIO = sys.stdout) -> int:
    """Run the doctor for `pipeline` in the active environment; returns the exit code."""
    p = cfg.pipeline(pipeline)
    text = fmt != "json"
    if text:
        print(f"wms-ops doctor — environment {cfg.environment}, pipeline {p.name} "
              f"({p.tap} → {p.target})", file=out, flush=True)
    checks: list[Check] = []
    for check in _checks(cfg, p, send_test_alert):
        checks.append(check)
        if text:
            print(check.line(), file=out, flush=True)
    if text:
        print(summary(checks), file=out)
    else:
        print(as_json(checks, cfg.environment, p.name), file=out)
    return exit_code(checks)


def _checks(cfg: OpsConfig, p: Pipeline, send_test_alert: bool) -> Iterator[Check]:
    """The checks, or the one failure that says why the settings could not be read."""
    from orchestrate.guard import find_meltano

    try:
        meltano = find_meltano(cfg)
        tap = plugin_config(meltano, cfg, p.tap)
        target = plugin_config(meltano, cfg, p.target)
    except (SettingsError, SystemExit) as exc:
        redact = Redactor([cfg.wms_password, cfg.wms_oauth_client_secret, cfg.webhook_url,
                           cfg.smtp_password])
        yield redact.check(fail("settings", "meltano", str(exc),
                                "run the doctor as `meltano invoke wms-ops doctor` in the "
                                "project, or set meltano_bin"))
        return
    yield from run_checks(DoctorSettings(cfg, p, tap, target), meltano, send_test_alert)
