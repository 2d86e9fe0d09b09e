"""The lease in `lock_url`: guards on different hosts (here: different lock dirs, so their
flocks never meet) still never load at once, a killed guard's run stays protected, a dead
holder's lease expires, and a lock database that cannot be reached stops the run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlglot
from guard_helpers import (
    alive,
    assert_one_after_the_other,
    child_pids,
    guard,
    guard_rows,
    holder_cmd,
    recorder_cmd,
    started,
    wait_for,
)
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateTable

from orchestrate.leases import LOCKS


def host(tmp_path: Path, name: str, lock_url: str, lease: float = 300) -> dict[str, str]:
    """Settings of a guard on another machine: its own flock dir, the shared lock database."""
    return {"WMS_OPS_LOCK_DIR": str(tmp_path / f"locks-{name}"), "WMS_OPS_LOCK_URL": lock_url,
            "WMS_OPS_LOCK_LEASE_SECONDS": str(lease)}


def lock_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared-locks.db'}"


def keeper_and_run(guard_pid: int) -> tuple[int, int]:
    """The guard's two children: the lease keeper and the inner run (the keeper is started
    just after the run, so it may not exist yet when the run has already logged its start)."""
    def keeper_of(pids: list[int]) -> list[int]:
        return [p for p in pids
                if b"orchestrate.leases" in Path(f"/proc/{p}/cmdline").read_bytes()]

    wait_for(lambda: len(keeper_of(child_pids(guard_pid))) == 1)
    pids = child_pids(guard_pid)
    [keeper] = keeper_of(pids)
    assert len(pids) == 2, pids
    return keeper, next(p for p in pids if p != keeper)


def lease_expiry(url: str) -> float:
    with sa.create_engine(url).connect() as conn:
        return conn.execute(sa.select(LOCKS.c.expires_at)).scalar_one()


def test_guards_on_two_hosts_never_overlap(project, tmp_path):
    url = lock_db(tmp_path)
    assert_one_after_the_other(project, tmp_path, [(name, host(tmp_path, name, url))
                                                   for name in ("full_sync", "incremental_sync")])
    with sa.create_engine(url).connect() as conn:  # both freed their lease
        assert conn.execute(sa.select(sa.func.count()).select_from(LOCKS)).scalar() == 0


def test_other_host_skips_naming_the_holder(project, tmp_path):
    url, log, release = lock_db(tmp_path), tmp_path / "runs.log", tmp_path / "release"
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *holder_cmd(tmp_path, log, release), env=host(tmp_path, "a", url))
    try:
        wait_for(lambda: started(log))
        late = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "0.5",
                     *recorder_cmd(tmp_path, tmp_path / "late.log", 0),
                     env=host(tmp_path, "b", url))
        out, _ = late.communicate(timeout=60)
    finally:
        release.touch()
    holder.communicate(timeout=60)
    assert late.returncode == 0
    assert "SKIPPED, lock" in out and "still held by full_sync" in out
    assert f"pid {holder.pid} on {os.uname().nodename}" in out
    assert not (tmp_path / "late.log").exists()
    assert sorted(r["outcome"] for r in guard_rows(project)) == ["skipped", "success"]


def test_killed_guard_keeps_the_lease_while_its_run_lives(project, tmp_path):
    url, log = lock_db(tmp_path), tmp_path / "runs.log"
    lease = 3.0
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *holder_cmd(tmp_path, log, tmp_path / "never"),
                   env=host(tmp_path, "a", url, lease=lease))
    wait_for(lambda: started(log))
    keeper, run = keeper_and_run(holder.pid)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    # Past the moment the lease would have expired without renewals: a renewal made after it
    # (expiry beyond first expiry + lease) shows that only the keeper keeps it.
    first = lease_expiry(url)
    wait_for(lambda: lease_expiry(url) > first + lease)
    other = host(tmp_path, "b", url, lease=lease)
    late = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "0.5",
                 *recorder_cmd(tmp_path, tmp_path / "late.log", 0), env=other)
    out, _ = late.communicate(timeout=60)
    assert "SKIPPED, lock" in out and not (tmp_path / "late.log").exists()
    os.kill(run, signal.SIGKILL)  # the run ends: its keeper frees the lease at once
    wait_for(lambda: not alive(keeper))
    after = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "0",
                  *recorder_cmd(tmp_path, tmp_path / "after.log", 0), env=other)
    out, _ = after.communicate(timeout=60)
    assert after.returncode == 0 and (tmp_path / "after.log").exists(), out
    assert "taking it over" not in out  # freed, not expired


def test_lease_of_a_vanished_host_expires(project, tmp_path):
    url, log = lock_db(tmp_path), tmp_path / "runs.log"
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *recorder_cmd(tmp_path, log, 60), env=host(tmp_path, "a", url, lease=1.5))
    wait_for(lambda: started(log))
    for pid in (*keeper_and_run(holder.pid), holder.pid):  # the whole host is gone
        os.kill(pid, signal.SIGKILL)
    holder.wait(timeout=10)
    late = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "60",
                 *recorder_cmd(tmp_path, tmp_path / "late.log", 0),
                 env=host(tmp_path, "b", url, lease=1.5))
    out, _ = late.communicate(timeout=60)
    assert late.returncode == 0 and (tmp_path / "late.log").exists(), out
    assert "expired" in out and "taking it over" in out


@pytest.mark.parametrize("url", [
    "oracle+oracledb://loader:Lock-Db-S3cret@127.0.0.1:9/?service_name=nowhere",  # refused
    "oracle+oracledb://loader:Lock-Db-S3cret@127.0.0.1:no-port/x",  # malformed
])
def test_unreachable_lock_database_stops_the_run_and_hides_its_password(project, tmp_path, url):
    p = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "0",
              *recorder_cmd(tmp_path, tmp_path / "r.log", 0), env=host(tmp_path, "a", url))
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 1
    assert "FAILED, cannot take the lease in lock_url" in out and "check lock_url" in out
    assert not (tmp_path / "r.log").exists()
    [row] = guard_rows(project)
    assert row["outcome"] == "failed" and "Lock-Db-S3cret" not in row["reason"]
    assert "Lock-Db-S3cret" not in out


def test_lock_table_and_statements_compile_for_oracle():
    ddl = str(CreateTable(LOCKS).compile(dialect=oracle.dialect()))
    assert "lock_key VARCHAR2(200 CHAR) NOT NULL" in ddl and "PRIMARY KEY (lock_key)" in ddl
    statements = [
        ddl,
        sa.insert(LOCKS).values(lock_key="k", token="t", holder="{}", expires_at=1.0),
        sa.update(LOCKS).where(LOCKS.c.lock_key == "k", LOCKS.c.token == "t")
        .values(expires_at=2.0),
        sa.delete(LOCKS).where(LOCKS.c.lock_key == "k", LOCKS.c.token == "t",
                               LOCKS.c.expires_at == 1.0),
        sa.select(LOCKS).where(LOCKS.c.lock_key == "k"),
    ]
    for statement in statements:
        text = statement if isinstance(statement, str) else str(
            statement.compile(dialect=oracle.dialect(), compile_kwargs={"literal_binds": True}))
        sqlglot.parse_one(text, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
