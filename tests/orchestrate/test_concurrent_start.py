"""Guards started in the same instant (issue 12): `@weekly` and `0 */2 * * *` both fire at
00:00 on Sundays. None may crash ("database is locked" on a fresh ops DB was a missed weekly
full sync and a CRITICAL alert), and their runs still never overlap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from guard_helpers import guard_rows, recorder_cmd, wait_for
from stress_helpers import open_ops_db, run_together, take_lease

from orchestrate.opsdb import OpsDB

WORKERS = 6
ROUNDS = 40  # the crash hit about 1 start in 30 for two guards; 6 starters make it far likelier

#: A guard process whose start is held at a FIFO until the test writes one byte per guard:
#: every module a guard loads before its first statement is imported beforehand, so all
#: guards reach the ops DB in the same instant, as if cron had exec'd them together.
LAUNCHER = (
    "import os, sys\n"
    "from orchestrate.cli import main\n"
    "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
    "open(sys.argv[2], 'w').close()\n"
    "os.read(fd, 1)\n"
    "os.close(fd)\n"
    "sys.exit(main(sys.argv[3:]))\n"
)


def _errors(results: dict) -> list[str]:
    return [value for per_round in results.values() for status, value in per_round
            if status == "error"]


def test_ops_db_opens_from_many_processes_at_once(tmp_path: Path) -> None:
    results = run_together(open_ops_db, tmp_path, WORKERS, ROUNDS)
    assert len(results) == ROUNDS
    assert not _errors(results), _errors(results)[0]
    for n in range(ROUNDS):  # every opener's row is there: one schema, nothing lost
        ops = OpsDB(tmp_path / f"round-{n}" / "ops.db")
        assert ops.query("SELECT count(*) FROM guard_runs")[0][0] == WORKERS
        assert ops.query("PRAGMA journal_mode")[0][0] == "wal"
        ops.close()


def test_lease_taken_by_exactly_one_of_many_at_once(tmp_path: Path) -> None:
    results = run_together(take_lease, tmp_path, WORKERS, ROUNDS // 2)
    assert not _errors(results), _errors(results)[0]
    for n, per_round in results.items():
        assert sorted(value for _status, value in per_round) == [False] * (WORKERS - 1) + [True], n


def _start_together(project, tmp_path: Path, log: Path, n: int) -> list[str]:
    """Start `n` real guards, release them at once, return their outputs (all must exit 0)."""
    fifo, launcher = tmp_path / "go", tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    gate = os.open(fifo, os.O_RDWR)  # readers' open() returns at once; nothing to read yet
    readies = [tmp_path / f"ready-{i}" for i in range(n)]
    for r in readies:
        r.unlink(missing_ok=True)
    names = ["full_sync", "incremental_sync"]
    procs = [subprocess.Popen(
        [sys.executable, str(launcher), str(fifo), str(readies[i]), "guard", "--pipeline",
         names[i % 2], "--no-check", "--wait", "120", *recorder_cmd(tmp_path, log, 0)],
        env={**os.environ, **project.env}, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT) for i in range(n)]
    try:
        wait_for(lambda: all(r.exists() for r in readies), timeout=120)
        os.write(gate, b"x" * n)
        outs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        os.close(gate)
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * n, "\n---\n".join(outs)
    return outs


def test_guards_started_in_the_same_instant_all_run_one_after_another(project, tmp_path):
    guards, rounds = 4, 6
    log = tmp_path / "runs.log"
    for n in range(rounds):
        (project.root / ".meltano" / "wms-ops").mkdir(parents=True, exist_ok=True)
        for stale in (project.root / ".meltano" / "wms-ops").glob("ops.db*"):
            stale.unlink()  # a fresh project each round: the ops DB is created by the racers
        log.unlink(missing_ok=True)
        _start_together(project, tmp_path, log, guards)
        events = [line.split() for line in log.read_text().splitlines()]
        assert [e[0] for e in events] == ["start", "end"] * guards, (n, events)
        assert len({e[2] for e in events if e[0] == "start"}) == guards  # one run id each
        assert [r["outcome"] for r in guard_rows(project)] == ["success"] * guards
