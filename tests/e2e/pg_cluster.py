"""A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, one free port on
127.0.0.1, its unix socket in that directory, stopped and removed at the end.

The server binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, package `postgresql`;
`.ci/run` installs it). `initdb` and `postgres` refuse to run as root, and tests run as root
here: then the cluster runs as `nobody` (through `runuser`), in a directory made for it.
Logins use a password (scram-sha-256), as a shared production database would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "wms"
PASSWORD = "pg-secret-4f1c9"  # tests assert it never reaches an output
START_ATTEMPTS = 3


def server_bin_dir() -> Path | None:
    """The newest PostgreSQL server's bin directory, or None when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def why_unavailable() -> str | None:
    """Why no cluster can be started here (the skip reason), or None."""
    if server_bin_dir() is None:
        return ("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: "
                "apt-get install postgresql (.ci/run does)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb refuses root and cannot drop to nobody"
    return None


@dataclass
class Cluster:
    """A running cluster: URLs of its databases, and making new ones."""

    port: int
    socket_dir: Path

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh database (a test's own); returns its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Start a cluster; stop it and delete its files on the way out."""
    bindir = server_bin_dir()
    assert bindir is not None, why_unavailable()
    root = Path(tempfile.mkdtemp(prefix="wms-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    started = False
    try:
        pwfile = root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, nobody.pw_uid, nobody.pw_gid)
        subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", USER,
                                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                                  "--no-sync", "--no-instructions"]), **run)
        for attempt in range(START_ATTEMPTS):
            port = _free_port()
            options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            try:
                subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                          str(log), "-o", options, "-w", "-t", "120",
                                          "start"]), **run)
            except subprocess.CalledProcessError as exc:  # the port was taken meanwhile
                if attempt == START_ATTEMPTS - 1:
                    raise AssertionError(f"PostgreSQL did not start:\n{log.read_text()}") from exc
                continue
            started = True
            break
        yield Cluster(port=port, socket_dir=root)
    finally:
        if started:
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                      "immediate", "-w", "stop"]), capture_output=True,
                           timeout=120, check=False)
        shutil.rmtree(root, ignore_errors=True)


def open_shared_ops_db(folder: Path, worker: int) -> int:
    """What every wms-ops command on every host does first, on a database nobody has used
    yet (its URL in `folder/url`): open (create) the ops tables; then the guard's first write."""
    from orchestrate.ops_tables import GUARD_RUNS
    from orchestrate.opsdb import OpsDB

    ops = OpsDB((folder / "url").read_text())
    try:
        return ops.insert(GUARD_RUNS, run_id=f"w{worker}", pipeline="p", environment="dev",
                          started_at="2026-01-01T00:00:00Z", outcome="running")
    finally:
        ops.close()
