"""Issue 19: two hosts, one truth. Two hosts share Meltano's system database, the lease
(`lock_url`) and the ops records (`ops_db_url`) on a throwaway PostgreSQL cluster, and one
warehouse; each keeps its own `.meltano/` (MELTANO_SYS_DIR_ROOT: run configs, logs, the local
lock files, the default ops.db), as on two machines. The project files are this checkout's for
both: a copy elsewhere would make Meltano reinstall the shared plugin venvs (their fingerprint
holds the project root), and the files of two checkouts of one commit are the same anyway.

What a user of several Airflow workers relies on: the bookmark one host's full sync seeds is
the other's incremental start; runs started at the same moment on two hosts never load at
once; a pause set on one host holds on the other; an alert is sent once, not once per host;
a run going on one host is seen running, with its percent, from the other, and seen gone
once its host's processes are killed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e_helpers import BIN, ENTITIES, PREFIX, ROOT, apply_changes_checked, assert_matches_wms
from pg_cluster import PASSWORD

from tests.orchestrate.receivers import WebhookReceiver
from wms_simulator.testing import running_simulator

pytestmark = pytest.mark.e2e


@pytest.fixture
def simulator() -> Iterator:
    with running_simulator(scale=1000, seed=19) as sim:
        yield sim


@dataclass
class Host:
    """One host: its own `.meltano/` (local files), the shared databases."""

    name: str
    env: dict[str, str]
    logs: list[str] = field(default_factory=list)

    def start(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen([str(BIN / "meltano"), *args], cwd=ROOT, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=new_session)

    def finish(self, proc: subprocess.Popen[str], what: str, check: bool = True) -> str:
        out = proc.communicate(timeout=400)[0]
        self.logs.append(out)
        if check:
            assert proc.returncode == 0, f"{self.name}: {what} exited " \
                                         f"{proc.returncode}:\n{out[-6000:]}"
        return out

    def meltano(self, *args: str, check: bool = True) -> str:
        return self.finish(self.start(*args), " ".join(args), check)


def _sys_dir(dest: Path) -> Path:
    """A host's own `.meltano/`, whose plugin venvs are the installed ones (linked)."""
    dest.mkdir(parents=True)
    for kind in ("extractors", "loaders", "utilities"):
        (dest / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return dest


@pytest.fixture
def hosts(cluster, simulator, tmp_path: Path) -> tuple[Host, Host]:
    if not (ROOT / ".meltano" / "utilities" / "wms-ops").exists():
        pytest.fail("Meltano plugins are not installed: run `make install` (make test does it)")
    name = f"t{uuid.uuid4().hex[:12]}"
    system_db = cluster.create_database(f"{name}_meltano")
    shared_db = cluster.create_database(f"{name}_ops")  # leases and ops records
    warehouse = tmp_path / "warehouse.db"  # the one warehouse both hosts load
    pair = []
    for label in ("host-a", "host-b"):
        sys_dir = _sys_dir(tmp_path / label / ".meltano")
        env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("MELTANO_", "WMS_OPS_", "TAP_", "TARGET_"))},
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DATABASE_URI": system_db,
            "WMS_OPS_LOCK_URL": shared_db,
            "WMS_OPS_OPS_DB_URL": shared_db,
            "TAP_ORACLE_WMS_BASE_URL": simulator.base_url,
            "TARGET_ORACLE_SQLALCHEMY_URL": f"sqlite:///{warehouse}",
            "WMS_OPS_WAREHOUSE_URL": f"sqlite:///{warehouse}",
            "WMS_OPS_WMS_BASE_URL": simulator.base_url,
        }
        pair.append(Host(label, env))
    pair[0].meltano("state", "list")  # Meltano creates its system DB before the first runs
    return pair[0], pair[1]


def _audit(warehouse: Path, sql: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(warehouse) as db:
        return db.execute(sql).fetchall()


def _warehouse(host: Host) -> Path:
    return Path(host.env["TARGET_ORACLE_SQLALCHEMY_URL"].removeprefix("sqlite:///"))


def test_host_b_incremental_starts_from_host_a_bookmark_and_obeys_its_pause(hosts,
                                                                           simulator) -> None:
    a, b = hosts
    warehouse = _warehouse(a)
    a.meltano("run", "full_sync")  # seeds the incremental bookmarks, in the shared system DB
    apply_changes_checked(simulator, update=20, insert=8)

    b.meltano("run", "incremental_sync")
    assert_matches_wms(warehouse, simulator, context="after host B's incremental")
    [(fetched,)] = _audit(warehouse, (
        f"SELECT sum(inserted) + sum(updated) + sum(unchanged) FROM {PREFIX}LOAD_AUDIT "
        "WHERE pipeline = 'incremental_sync'"))
    total = sum(1 for e in ENTITIES for _ in simulator.truth(e))
    assert 20 + 8 <= fetched < total / 4, f"host B's incremental read {fetched} of {total}"

    a.meltano("invoke", "wms-ops", "pause", "incremental", "--until", "2h", "--reason",
              "WMS upgrade")
    audit_before = _audit(warehouse, f"SELECT count(*) FROM {PREFIX}LOAD_AUDIT")
    skipped = b.meltano("run", "incremental_sync")
    assert "SKIPPED" in skipped and "WMS upgrade" in skipped, skipped[-3000:]
    assert _audit(warehouse, f"SELECT count(*) FROM {PREFIX}LOAD_AUDIT") == audit_before
    history = a.meltano("invoke", "wms-ops", "history", "--pipeline", "incremental")
    assert "skipped" in history and "WMS upgrade" in history  # host B's skip, seen from A
    b.meltano("invoke", "wms-ops", "resume", "incremental")
    assert "runnable" in a.meltano("invoke", "wms-ops", "status")
    assert not [log for host in (a, b) for log in host.logs if PASSWORD in log]


def test_one_alert_per_condition_not_one_per_host(hosts) -> None:
    a, b = hosts
    hook = WebhookReceiver()
    try:
        for host in (a, b):
            host.env.update(WMS_OPS_WEBHOOK_URL=hook.url, WMS_OPS_CHECK_AFTER_GUARD="false")
        b.env["TAP_ORACLE_WMS_PASSWORD"] = "not-the-password"
        failed = b.start("run", "incremental_sync")
        b.finish(failed, "run", check=False)
        assert failed.returncode != 0
        for _ in range(2):  # both hosts' checks at once, twice: nothing new the second time
            checks = [(host, host.start("invoke", "wms-ops", "check")) for host in (a, b)]
            for host, proc in checks:
                host.finish(proc, "wms-ops check")
        texts = [body["text"].splitlines()[0][:160] for body in hook.bodies]
        assert any("CRITICAL" in t and "incremental_sync" in t for t in texts), texts
        assert len(texts) == len(set(texts)), f"an alert was sent more than once: {texts}"
    finally:
        hook.close()
    assert not [log for host in (a, b) for log in host.logs if PASSWORD in log]


def test_runs_started_at_once_on_two_hosts_never_overlap(hosts, simulator) -> None:
    a, b = hosts
    procs = [(a, a.start("run", "full_sync")), (b, b.start("run", "incremental_sync"))]
    outs = [host.finish(proc, "run") for host, proc in procs]
    assert any("waiting up to" in o or "SKIPPED" in o for o in outs), (
        "neither run waited for (or skipped on) the other host's lease")
    spans = _audit(_warehouse(a), (
        f"SELECT pipeline, run_id, min(started_at), max(finished_at) FROM {PREFIX}LOAD_AUDIT "
        "GROUP BY pipeline, run_id ORDER BY 3"))
    for (p1, _, _, end1), (p2, _, start2, _) in itertools.pairwise(spans):
        assert end1 <= start2, f"loads overlap: {p1} ended {end1}, {p2} started {start2}"


def _wait_for(cond, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _status_line(host: Host, pipeline: str) -> str:
    out = host.meltano("invoke", "wms-ops", "status")
    return next(x for x in out.splitlines() if x.startswith(pipeline))


def _tap_pid(host: Host) -> int | None:
    running = Path(host.env["MELTANO_SYS_DIR_ROOT"]) / "wms-ops" / "running"
    for path in running.glob("*.progress.json"):
        try:
            return int(json.loads(path.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def test_host_b_sees_host_a_run_running_then_gone_once_killed(hosts, simulator) -> None:
    a, b = hosts
    # Slow pages (a steady second per request) so the run lasts while host B looks.
    simulator.set_latency(per_request=1.0, max_concurrent=4)
    a.env.update(TAP_ORACLE_WMS_FULL_PAGE_SIZE="50",
                 TAP_ORACLE_WMS_FULL_PROGRESS_INTERVAL_SECONDS="1")
    b.env["WMS_OPS_RUNNING_STALE_SECONDS"] = "1"  # gone after 10 missed beats of 1 s
    run = a.start("run", "full_sync", new_session=True)
    inner: int | None = None
    try:
        # Host B has no file of it: it sees it through the shared ops DB.
        _wait_for(lambda: "% (" in _status_line(b, "full_sync") or run.poll() is not None)
        assert run.poll() is None, "host A's run ended before host B saw it"
        line = _status_line(b, "full_sync")
        assert "running since" in line and "ETA " in line, line
        _wait_for(lambda: _tap_pid(a) is not None)
    finally:
        # Host A is lost: its meltano and guard (this group) first, so nothing ends the run
        # in the shared table, then the inner run and its tap (a group of their own).
        with contextlib.suppress(ProcessLookupError):
            inner = os.getpgid(_tap_pid(a) or run.pid)
        for group in (run.pid, inner):
            if group is not None and group != os.getpgrp():  # never this test's own
                with contextlib.suppress(ProcessLookupError):  # ended already
                    os.killpg(group, signal.SIGKILL)
        simulator.set_latency()
    a.finish(run, "killed run", check=False)
    _wait_for(lambda: "GONE" in _status_line(b, "full_sync"))
    line = _status_line(b, "full_sync")
    assert "running since" not in line and "% (" in line, line  # its last figures, as gone
