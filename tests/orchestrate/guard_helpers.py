"""Starting `wms-ops guard` as a real process and watching what it runs (shared by the guard
and lease tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from orchestrate.opsdb import OpsDB

PY = sys.executable  # the interpreter running the tests, for inner commands

RECORDER = (
    "import sys, time, os\n"
    "path = sys.argv[1]\n"
    "rid = os.environ['MELTANO_RUN_ID']\n"
    "with open(path, 'a') as f: f.write(f'start {time.time()} {rid}\\n')\n"
    "time.sleep(float(sys.argv[2]))\n"
    "with open(path, 'a') as f: f.write(f'end {time.time()}\\n')\n"
    "sys.exit(int(sys.argv[3]) if len(sys.argv) > 3 else 0)\n"
)


#: An inner run that holds the lock until the test says so (the file `argv[2]` exists), so a
#: test never depends on how long the other guard takes to start on a loaded machine.
HOLDER = (
    "import sys, time, os\n"
    "path, release = sys.argv[1], sys.argv[2]\n"
    "rid = os.environ['MELTANO_RUN_ID']\n"
    "with open(path, 'a') as f: f.write(f'start {time.time()} {rid}\\n')\n"
    "while not os.path.exists(release): time.sleep(0.02)\n"
    "with open(path, 'a') as f: f.write(f'end {time.time()}\\n')\n"
)


def guard(project, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    """Start `wms-ops guard` as a real process (the way Meltano starts it)."""
    return subprocess.Popen(
        [PY, "-m", "orchestrate.cli", "guard", *args],
        env={**os.environ, **project.env, **(env or {})}, text=True,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, **kw})


def recorder_cmd(tmp: Path, log: Path, seconds: float, rc: int = 0) -> list[str]:
    script = tmp / "recorder.py"
    script.write_text(RECORDER)
    return ["--exec", "--", PY, str(script), str(log), str(seconds), str(rc)]


def holder_cmd(tmp: Path, log: Path, release: Path) -> list[str]:
    """Inner command that logs its start, then holds until `release` exists."""
    script = tmp / "holder.py"
    script.write_text(HOLDER)
    return ["--exec", "--", PY, str(script), str(log), str(release)]


def guards_to_files(project, tmp: Path, runs: list[tuple[str, dict]], log: Path,
                    release: Path) -> tuple[list[subprocess.Popen], list[Path]]:
    """Start one guard per (pipeline, env) at once, output to files (readable while they run)."""
    procs, outs = [], []
    for i, (name, env) in enumerate(runs):
        out = tmp / f"guard-{i}.out"
        with out.open("w") as handle:
            procs.append(guard(project, "--pipeline", name, "--no-check", "--wait", "120",
                               *holder_cmd(tmp, log, release), env=env, stdout=handle))
        outs.append(out)
    return procs, outs


def assert_one_after_the_other(project, tmp: Path,
                               runs: list[tuple[str, dict]]) -> list[list[str]]:
    """Start the guards of `runs` at once: the first run holds the lock (or lease) until the
    other guard reports that it waits for it; then both finish, strictly one after the other.
    Returns the runs' log events (`start|end <time> <run id>`)."""
    log, release = tmp / "runs.log", tmp / "release"
    procs, outs = guards_to_files(project, tmp, runs, log, release)
    wait_for(lambda: started(log)
             and any("waiting up to 120s for lock" in o.read_text() for o in outs))
    assert log.read_text().count("start") == 1
    release.touch()
    for p in procs:
        p.wait(timeout=120)
    texts = [o.read_text() for o in outs]
    assert [p.returncode for p in procs] == [0, 0], texts
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end", "start", "end"], texts
    assert float(events[2][1]) >= float(events[1][1])
    return events


def guard_rows(project) -> list[dict]:
    cfg = project.config()
    return [dict(r) for r in OpsDB(cfg.ops_db_path).query("SELECT * FROM guard_runs ORDER BY id")]


def started(log: Path) -> bool:
    """Whether an inner run has written its start line. Not `log.exists()`: the recorder
    creates the file when it opens it, a moment before the line is written, and a test that
    reads it in that moment sees no start (issue 17: one flaky fresh-clone run)."""
    return log.exists() and "start" in log.read_text()


def wait_for(cond, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
