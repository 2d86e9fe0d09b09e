"""Operations checks: what the guarded jobs lean on besides the two ends — Meltano's state
backend, the shared lease, the ops database, the schedules and the alert channels.

Each is proven by the write it must be able to do: a probe state id set and cleared through
`meltano state`, a lease taken and released under a random key, a write transaction on the
ops database.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator

from orchestrate.config import OpsConfig, without_credentials
from orchestrate.doctor.report import Check, fail, ok, warn

G = "operations"


def _meltano(meltano: str, cfg: OpsConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MELTANO_ENVIRONMENT"}
    return subprocess.run([meltano, f"--environment={cfg.environment}", *args],
                          cwd=cfg.project_root, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def _last(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
    return without_credentials(lines[-1])[:240]


def state_backend(meltano: str, cfg: OpsConfig) -> Check:
    """Set and clear a probe state id: the backend the bookmarks live in takes writes."""
    probe = f"{cfg.environment}:wms-ops-doctor-{secrets.token_hex(4)}"
    done = _meltano(meltano, cfg, "state", "set", "--force", probe,
                    json.dumps({"singer_state": {"doctor": True}}))
    if done.returncode != 0:
        return fail(G, "state_backend", f"cannot write state: {_last(done)}",
                    "check Meltano's state_backend settings (uri, credentials) or the system "
                    "database MELTANO_DATABASE_URI")
    cleared = _meltano(meltano, cfg, "state", "clear", "--force", probe)
    if cleared.returncode != 0:
        return warn(G, "state_backend", f"state written, but the probe {probe} could not be "
                    f"cleared: {_last(cleared)}", f"meltano state clear --force {probe}")
    return ok(G, "state_backend", "Meltano's state backend takes writes (probe set and "
                                  "cleared)")


def lease(cfg: OpsConfig) -> Check:
    """Take and release a lease under a random key: the table exists or can be created."""
    if not cfg.lock_url:
        return ok(G, "lock_url", "not set: the host-local file lock only (fine when both "
                                 "pipelines run on this host)")
    from orchestrate.leases import LeaseLock, error_text, lease_schema

    where = without_credentials(cfg.lock_url)
    try:
        lock = LeaseLock(cfg.lock_url, f"wms-ops-doctor-{secrets.token_hex(4)}", 60,
                         schema=lease_schema(cfg.lock_url, cfg.warehouse_url,
                                             cfg.target_schema))
        try:
            if not lock.try_acquire({"pid": os.getpid(), "doctor": True}):
                return warn(G, "lock_url", f"{where}: the probe lease was refused")
            lock.release()
        finally:
            lock.engine.dispose()
    except Exception as exc:  # any driver's error: reported, not raised
        return fail(G, "lock_url", f"{where}: {error_text(exc, cfg.lock_url)}",
                    "check lock_url (reachable from every worker) and that its login may "
                    "create the table wms_ops_locks")
    return ok(G, "lock_url", f"{where}: lease table ready, a probe lease taken and released")


def ops_db(cfg: OpsConfig) -> Check:
    """Open the ops database the guards will use (`ops_db_url` when set, else the local file)
    through its own API, and write a row in and out again in one write transaction."""
    import sqlalchemy as sa

    from orchestrate.ops_tables import PAUSES
    from orchestrate.opsdb import open_ops_db

    where = without_credentials(cfg.ops_db_url) if cfg.ops_db_url else str(cfg.ops_db_path)
    setting = "ops_db_url" if cfg.ops_db_url else "ops_db_path"
    try:
        ops = open_ops_db(cfg)
        try:
            with ops.transaction() as tx:
                # The commit writes pages (and on a server takes the writers' turn row); the
                # table ends unchanged.
                probe = f"wms-ops-doctor-{secrets.token_hex(4)}"
                tx.insert(PAUSES, pipeline=probe, environment=probe,
                          paused_at="2000-01-01T00:00:00Z", reason="doctor probe")
                tx.execute(sa.delete(PAUSES).where(PAUSES.c.pipeline == probe))
        finally:
            ops.close()
    except Exception as exc:  # any driver's error, busy files alike
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        if cfg.ops_db_url:
            text = text.replace(cfg.ops_db_url, where)
        return fail(G, "ops_db", f"{where}: {type(exc).__name__}: {text}",
                    f"make the ops database ({setting}) reachable and writable by this login")
    return ok(G, "ops_db", f"{where} is writable")


def schedules(meltano: str, cfg: OpsConfig) -> Check:
    from orchestrate.schedules import load_schedules

    try:
        found = load_schedules(cfg.project_root, "auto", meltano)
    except Exception as exc:  # an unreadable meltano.yml is a finding, not a crash
        return fail(G, "schedules", f"cannot read the schedules: {type(exc).__name__}",
                    "check meltano.yml")
    jobs = {sch.job: sch for sch in found}
    missing = [p for p in cfg.pipelines if p not in jobs]
    have = ", ".join(f"{jobs[p].name} ({jobs[p].interval})" for p in cfg.pipelines if p in jobs)
    if missing:
        return fail(G, "schedules", f"no schedule runs {', '.join(missing)}"
                    + (f" (present: {have})" if have else ""),
                    "meltano schedule add <name> --job <job> --interval '<cron>'")
    return ok(G, "schedules", have)


def channels(cfg: OpsConfig) -> Check:
    names = ["log"]
    if cfg.webhook_url:
        names.append("webhook")
    if cfg.smtp_host and cfg.smtp_to:
        names.append(f"smtp ({cfg.smtp_host}:{cfg.smtp_port} → {len(cfg.smtp_to)} "
                     "recipient(s))")
    if len(names) == 1:
        return warn(G, "alerts", "alerts only reach the log",
                    "set webhook_url, or smtp_host and smtp_to, so someone hears of a failed "
                    "run")
    return ok(G, "alerts", f"alert channels: {', '.join(names)}")


def send_test_alert(cfg: OpsConfig) -> Iterator[Check]:
    """`--send-test-alert`: one event through every configured channel, each reported."""
    from orchestrate.channels import AlertEvent, dispatch

    event = AlertEvent("open", cfg.environment, "doctor", "test_alert", "WARNING",
                       "test alert sent by `wms-ops doctor --send-test-alert`; no action needed")
    for channel, error in dispatch(cfg, event).items():
        if error:
            yield fail(G, f"alerts.{channel}", f"test alert not delivered: {error[:240]}",
                       f"check the {channel} settings of wms-ops")
        else:
            yield ok(G, f"alerts.{channel}", "test alert sent")
