"""`wms-ops guard`: the single task of each job, wrapped around the real `meltano run`.

`meltano run` moves on to the next task whenever a task exits 0, so a guard task placed in front
of the EL block could never stop it. Instead the job's only task is this guard: it checks pauses
and maintenance windows, takes the schema lock (waiting up to `lock_wait_seconds`), then runs the
inner `meltano run <tap> <target>` as a child with MELTANO_RUN_ID set (so Meltano's run record and
the target's LOAD_AUDIT rows share one id), forwards signals, lets the child write straight to our
stdout/stderr (Meltano logs it line by line), records the outcome, reconciles after a successful
full sync, runs `check`, and exits with the child's exit code. Skips exit 0 and touch no state.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

from orchestrate.config import OpsConfig, Pipeline
from orchestrate.early_warning import check_now
from orchestrate.inner_exec import spawn_argv
from orchestrate.leases import LeaseLock, error_text, lease_schema, start_keeper
from orchestrate.locks import SchemaLock
from orchestrate.ops_tables import GUARD_RUNS
from orchestrate.opsdb import OpsDB
from orchestrate.pauses import blocking_reason
from orchestrate.progress import RunTracker
from orchestrate.timeutil import iso, utcnow

log = logging.getLogger("wms_ops.guard")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def _parent_meltano() -> str | None:
    """The meltano that started us (Linux /proc), so the inner run uses the same install."""
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for arg in (a.decode(errors="replace") for a in argv[:2]):
        if Path(arg).name == "meltano" and os.access(arg, os.X_OK):
            return arg
    return None


def find_meltano(cfg: OpsConfig) -> str:
    """Setting `meltano_bin`, the parent meltano, PATH, then next to this Python."""
    for candidate in (cfg.meltano_bin, _parent_meltano(), shutil.which("meltano")):
        if candidate:
            return candidate
    sibling = Path(sys.executable).with_name("meltano")
    if sibling.exists():
        return str(sibling)
    raise SystemExit("wms-ops guard: cannot find the meltano executable; set meltano_bin")


def inner_command(cfg: OpsConfig, p: Pipeline, args: list[str], exec_mode: bool) -> list[str]:
    """What the guard runs.

    Precedence: the `inner_command` setting (a test/e2e hook, shell syntax; a leading `meltano`
    is resolved like below), then the arguments after `--` (meltano arguments, or a whole command
    with `--exec`), then `meltano run <tap> <target>` from the pipeline definition.
    """
    if cfg.inner_command:
        cmd = shlex.split(cfg.inner_command)
        if cmd and cmd[0] == "meltano":
            cmd[0] = find_meltano(cfg)
        return cmd
    if exec_mode:
        if not args:
            raise SystemExit("wms-ops guard: --exec needs a command after --")
        return list(args)
    cmd = list(args or ["run", p.tap, p.target])
    if cmd[:1] == ["run"] and "--force" not in cmd:
        # We hold the schema lock, so no other run of this pipeline is alive; a run killed
        # earlier (SIGKILL, OOM) leaves Meltano's record RUNNING, and without --force Meltano
        # would refuse every rerun for a while ("already running").
        cmd.insert(1, "--force")
    return [find_meltano(cfg), *cmd]


#: What Meltano exports for wms-ops itself: our settings (secrets among them) and the
#: utility's identity. The inner run is about the tap and the target, so they are not passed
#: on: no webhook URL or WMS password reaches the plugins, and the inner Meltano, which
#: copies its whole environment once per setting it resolves, has half as much to copy
#: (about 0.3 s less CPU per run, measured on the incremental job).
OWN_ENV_PREFIXES = ("WMS_OPS_", "MELTANO_UTILIZE_", "MELTANO_UTILITY_")


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the inner command: ours minus wms-ops' own settings."""
    return {k: v for k, v in environ.items() if not k.startswith(OWN_ENV_PREFIXES)}


def _record(ops: OpsDB, **row: object) -> int:
    return ops.insert(GUARD_RUNS, **row)


def _run_child(cmd: list[str], env: dict[str, str], lock_fd: int,
               on_started: Callable[[int], Callable[[], None]] | None = None) -> int:
    """Run the child holding the lock fd; forward signals; return a shell-style exit code.
    `on_started(pid)` runs once the child exists (the lease keeper); what it returns, after."""
    sys.stdout.flush()
    sys.stderr.flush()
    proc = subprocess.Popen(spawn_argv(cmd), env=env, pass_fds=(lock_fd,), start_new_session=True)
    after = on_started(proc.pid) if on_started else None

    def forward(signum: int, _frame: FrameType | None) -> None:
        log.warning("guard: forwarding signal %s to pid %s", signal.Signals(signum).name, proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        rc = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if after is not None:
            after()
    return 128 - rc if rc < 0 else rc


def run_guard(cfg: OpsConfig, ops: OpsDB, pipeline: str, args: list[str] | None = None,
              exec_mode: bool = False, wait_seconds: float | None = None,
              force: bool = False) -> int:
    """Guard one run of `pipeline`; returns the exit code for the job task."""
    p = cfg.pipeline(pipeline)
    run_id = os.environ.get("MELTANO_RUN_ID") or str(uuid.uuid4())
    cmd = inner_command(cfg, p, list(args or []), exec_mode)
    base = {"run_id": run_id.replace("-", "").lower(), "pipeline": p.name,
            "environment": cfg.environment, "lock_key": cfg.lock_key, "pid": os.getpid(),
            "command": shlex.join(cmd)}

    reason = None if (force or cfg.force) else blocking_reason(cfg, ops, p.name)
    if reason:
        now = iso(utcnow())
        _record(ops, started_at=now, ended_at=now, outcome="skipped", reason=reason, **base)
        print(f"wms-ops guard: {p.name} ({cfg.environment}) SKIPPED, {reason}; "
              "nothing was run and no state changed", flush=True)
        return 0

    lock = SchemaLock(cfg.lock_dir, cfg.lock_key)
    wait = cfg.lock_wait_seconds if wait_seconds is None else wait_seconds
    started = utcnow()

    def waiting(holder: dict) -> None:
        print(f"wms-ops guard: {p.name} waiting up to {wait:.0f}s for lock {cfg.lock_key} held by "
              f"{holder.get('pipeline', '?')} (pid {holder.get('pid', '?')}, run "
              f"{holder.get('run_id', '?')}, since {holder.get('since', '?')})", flush=True)

    def skip(holder: dict) -> int:
        where = f" on {holder['host']}" if holder.get("host") else ""
        reason = (f"lock {cfg.lock_key} still held by {holder.get('pipeline', 'another run')} "
                  f"(pid {holder.get('pid', '?')}{where}) after waiting {wait:.0f}s")
        _record(ops, started_at=iso(started), ended_at=iso(utcnow()), outcome="skipped",
                reason=reason, waited_seconds=(utcnow() - started).total_seconds(), **base)
        print(f"wms-ops guard: {p.name} ({cfg.environment}) SKIPPED, {reason}; "
              "nothing was run and no state changed", flush=True)
        return 0

    if not lock.acquire(wait, on_wait=waiting):
        return skip(lock.holder())
    holder = {"pipeline": p.name, "pid": os.getpid(), "host": socket.gethostname(),
              "run_id": run_id, "environment": cfg.environment, "since": iso(utcnow())}
    lease: LeaseLock | None = None
    if cfg.lock_url:  # the lock other hosts see too
        try:
            lease = LeaseLock(cfg.lock_url, cfg.lock_key, cfg.lock_lease_seconds,
                              schema=lease_schema(cfg.lock_url, cfg.warehouse_url,
                                                  cfg.target_schema))
            left = max(0.0, wait - (utcnow() - started).total_seconds())
            if not lease.acquire(left, holder, on_wait=waiting):
                lock.release()
                return skip(lease.holder())
        except Exception as exc:  # no lease, no load: never run unguarded
            lock.release()
            reason = f"cannot take the lease in lock_url: {error_text(exc, cfg.lock_url)}"
            _record(ops, started_at=iso(started), ended_at=iso(utcnow()), outcome="failed",
                    exit_code=1, reason=reason, **base)
            print(f"wms-ops guard: {p.name} ({cfg.environment}) FAILED, {reason}; nothing was "
                  "run (check lock_url and that the database is reachable)", flush=True)
            return 1

    try:
        waited = (utcnow() - started).total_seconds()
        lock.write_holder(holder)
        guard_id = _record(ops, started_at=iso(utcnow()), outcome="running",
                           waited_seconds=waited, **base)
        print(f"wms-ops guard: {p.name} ({cfg.environment}) run {run_id} holds lock "
              f"{cfg.lock_key}; running: {shlex.join(cmd)}", flush=True)
        env = {**child_environment(os.environ), "MELTANO_RUN_ID": run_id}
        if cfg.environment:
            env.setdefault("MELTANO_ENVIRONMENT", cfg.environment)
        if cfg.check_after_guard:
            _prepare_check()
        # The running run's figures for status/dashboard, and its early overrun warning.
        tracker = RunTracker(cfg, p, base["run_id"])
        env.update(tracker.begin())
        tracker.watch((lambda: check_now(cfg)) if cfg.check_after_guard else None)
        rc = 1
        try:
            keeper = (lambda pid: start_keeper(cfg.lock_url or "", lease, pid)) if lease else None
            rc = _run_child(cmd, env, lock.fd or 0, keeper)
            reason = None if rc == 0 else f"inner command exited with {rc}"
        except OSError as exc:
            rc, reason = 127, f"cannot start inner command: {exc}"
        finally:
            tracker.end("success" if rc == 0 else "failed")
        if rc == 0 and p.kind == "full" and not cfg.inner_command:
            _seed_bookmarks(cfg, env)  # still under the lock: no incremental can start first
        ops.execute(GUARD_RUNS.update().where(GUARD_RUNS.c.id == guard_id).values(
            ended_at=iso(utcnow()), outcome="success" if rc == 0 else "failed", exit_code=rc,
            reason=reason))
    finally:
        if lease is not None:
            try:
                lease.release()
            except Exception as exc:  # it expires by itself; say so, keep the exit code
                log.error("guard: freeing the lease of %s failed (%s); it expires in %.0f s",
                          cfg.lock_key, error_text(exc, cfg.lock_url or ""), cfg.lock_lease_seconds)
        lock.release()
    print(f"wms-ops guard: {p.name} run {run_id} finished with exit code {rc}", flush=True)
    _after(cfg, ops, p, run_id, rc)
    return rc


def _prepare_check() -> None:
    """Import the check's modules (SQLAlchemy and all, ~0.2 s) while the child runs, not after:
    the job ends that much sooner, which is most of what an incremental run costs."""

    def load() -> None:
        with contextlib.suppress(Exception):  # a real import error surfaces in `_after`
            importlib.import_module("orchestrate.alerts")

    threading.Thread(target=load, name="prepare-check", daemon=True).start()


def _seed_bookmarks(cfg: OpsConfig, env: dict[str, str]) -> None:
    """A failure here only costs a longer first incremental run: log it, keep the exit code."""
    try:
        from orchestrate.bookmarks import seed_incremental

        seed_incremental(cfg, find_meltano(cfg), env)
    except Exception:
        log.exception("guard: seeding the incremental bookmarks failed")


def _after(cfg: OpsConfig, ops: OpsDB, p: Pipeline, run_id: str, rc: int) -> None:
    """Reconcile and check; their failures are logged, never change the job's exit code."""
    if rc == 0 and p.kind == "full" and cfg.reconcile_after_full_sync:
        try:
            from orchestrate.reconcile import reconcile

            reconcile(cfg, ops, run_id=run_id)
        except Exception:
            log.exception("guard: reconciliation after %s failed", p.name)
    if cfg.check_after_guard:
        try:
            from orchestrate.alerts import run_check

            run_check(cfg, ops)
        except Exception:
            log.exception("guard: check after %s failed", p.name)
