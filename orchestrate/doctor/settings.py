"""What the doctor checks against: the tap's and the target's settings as the pipeline's run
would get them, plus wms-ops' own.

`orchestrate/` never imports the tap or the target, and re-declaring their settings on wms-ops
would let the two drift apart (a password rotated on one side only). So the doctor asks Meltano:
`meltano --environment=<env> config --unsafe print <plugin> --format=json`, for the exact
inherited plugins the pipeline runs (`tap-oracle-wms-full` reads `page_size` 1000, the
incremental one 500). The values stay in this process; secrets are added to the redactor.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

from orchestrate.config import OpsConfig, Pipeline, without_credentials
from orchestrate.doctor.report import Redactor

TAP_SECRETS = ("password", "oauth_client_secret")
TARGET_SECRETS = ("password", "wallet_password", "sqlalchemy_url")


class SettingsError(RuntimeError):
    """Meltano could not tell a plugin's settings (named in the message)."""


@dataclass
class DoctorSettings:
    """The three plugins' settings for one pipeline in one environment."""

    ops: OpsConfig
    pipeline: Pipeline
    tap: dict[str, Any]
    target: dict[str, Any]
    redact: Redactor = field(default_factory=Redactor)

    def __post_init__(self) -> None:
        for key in TAP_SECRETS:
            self.redact.add(self.tap.get(key))
        for key in TARGET_SECRETS:
            value = self.target.get(key)
            if key == "sqlalchemy_url" and value:
                self.redact.add(_url_password(str(value)))
            else:
                self.redact.add(value)
        for secret in (self.ops.wms_password, self.ops.wms_oauth_client_secret,
                       self.ops.webhook_url, self.ops.smtp_password):
            self.redact.add(secret)
        if self.ops.lock_url:
            self.redact.add(_url_password(self.ops.lock_url))
        if self.ops.warehouse_url:
            self.redact.add(_url_password(self.ops.warehouse_url))

    @property
    def entities(self) -> list[str]:
        raw = self.tap.get("entities") or []
        return [str(e) for e in (json.loads(raw) if isinstance(raw, str) else raw)]

    @property
    def max_parallel(self) -> int:
        return max(1, int(self.tap.get("max_parallel_requests") or 4))

    @property
    def page_size(self) -> int:
        return max(1, min(1250, int(self.tap.get("page_size") or 1000)))


def _url_password(url: str) -> str | None:
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).password  # type: ignore[no-any-return]
    except Exception:  # unparsable: nothing more to blank than the URL's own credentials
        return None


def plugin_config(meltano: str, ops: OpsConfig, plugin: str) -> dict[str, Any]:
    """One plugin's resolved settings, from Meltano itself (environment, inheritance, env)."""
    cmd = [meltano, f"--environment={ops.environment}", "config", "--unsafe", "print",
           plugin, "--format=json"]
    env = {k: v for k, v in os.environ.items() if k != "MELTANO_ENVIRONMENT"}
    try:
        done = subprocess.run(cmd, cwd=ops.project_root, env=env, capture_output=True,
                              text=True, timeout=180, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SettingsError(f"cannot run `meltano config print {plugin}`: "
                            f"{type(exc).__name__}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SettingsError(f"`meltano config print {plugin}` failed: "
                            f"{without_credentials(last)[:300]}")
    out = done.stdout
    try:
        data = json.loads(out[out.index("{"):])
    except ValueError:
        raise SettingsError(f"`meltano config print {plugin}` printed no JSON") from None
    if not isinstance(data, dict):
        raise SettingsError(f"`meltano config print {plugin}` printed no JSON object")
    return data
