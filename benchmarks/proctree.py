"""Run one step as a subprocess and measure its wall time and the peak RSS of every process.

Why poll /proc instead of `getrusage(RUSAGE_CHILDREN)`: a `meltano run` is three processes
(meltano, the tap, the target) and we need the tap's and the target's peaks separately. Every
`interval` seconds we walk the process tree below the step (via `/proc/<pid>/task/*/children`)
and read each process's `VmHWM` — the kernel's own high-water mark of its resident set — so a
short spike between two polls is still caught; only growth in a process's last `interval` before
it exits can be missed. Each process is labelled by its executable (tap, target, meltano, ...).
Linux only.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

POLL_INTERVAL = 0.05


@dataclass
class ProcessPeak:
    """One process of a step: who it was and the most memory it held."""

    pid: int
    role: str
    command: str
    peak_rss_kb: int = 0
    cpu_s: float = 0.0  # user + system, as last seen (up to one poll interval short)


@dataclass
class MeasuredRun:
    """Outcome of one measured subprocess run."""

    returncode: int
    wall_s: float
    processes: list[ProcessPeak] = field(default_factory=list)
    stdout: bytes = b""
    cpu_s: float = 0.0  # user + system of the whole tree (exact: from the reaped children)

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak RSS per role, in MB (the largest process of that role)."""
        out: dict[str, float] = {}
        for proc in self.processes:
            mb = round(proc.peak_rss_kb / 1024, 1)
            out[proc.role] = max(out.get(proc.role, 0.0), mb)
        return out

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds per role, summed over its processes (polled, so slightly short)."""
        out: dict[str, float] = {}
        for proc in self.processes:
            out[proc.role] = round(out.get(proc.role, 0.0) + proc.cpu_s, 1)
        return out


def default_role(argv: Sequence[str]) -> str:
    """Label a process by what it runs: tap, target, meltano, wms-ops, floor, or `other`."""
    head = " ".join(Path(a).name for a in argv[:3])
    text = " ".join(argv[:4])
    if "tap-oracle-wms" in head or "tap_oracle_wms" in text:
        return "tap"
    if "target-oracle" in head or "target_oracle" in text:
        return "target"
    if "benchmarks.floor" in text:
        return "floor"
    if "benchmarks.sequential" in text:
        return "reader"
    if "wms-ops" in head or "orchestrate" in text:
        return "wms-ops"
    if "meltano" in head:
        return "meltano"
    return "other"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:  # the process is gone (or not readable): skip it this round
        return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        data = _read(f"/proc/{pid}/task/{tid}/children")
        if data:
            out += [int(x) for x in data.split()]
    return out


def _hwm_kb(pid: int) -> int | None:
    data = _read(f"/proc/{pid}/status")
    if data is None:
        return None
    for line in data.splitlines():
        if line.startswith(b"VmHWM:"):
            return int(line.split()[1])
    return None  # a zombie has no memory lines


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (all its threads)."""
    data = _read(f"/proc/{pid}/stat")
    if data is None:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _argv(pid: int) -> list[str]:
    data = _read(f"/proc/{pid}/cmdline") or b""
    return [a.decode(errors="replace") for a in data.split(b"\0") if a]


class TreeWatcher:
    """Peak RSS of every process below a root pid, polled by `poll()`."""

    def __init__(self, root: int, role_of: Callable[[Sequence[str]], str] = default_role) -> None:
        self.root = root
        self.role_of = role_of
        self.seen: dict[int, ProcessPeak] = {}

    def poll(self) -> None:
        stack = [self.root]
        while stack:
            pid = stack.pop()
            hwm = _hwm_kb(pid)
            if hwm is not None:
                peak = self.seen.get(pid)
                if peak is None:
                    argv = _argv(pid)
                    if not argv:
                        continue
                    peak = self.seen[pid] = ProcessPeak(
                        pid, self.role_of(argv), " ".join(argv)[:300]
                    )
                peak.peak_rss_kb = max(peak.peak_rss_kb, hwm)
                peak.cpu_s = cpu_seconds(pid) or peak.cpu_s
            stack += _children(pid)


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    stderr: IO[bytes] | int | None = None,
    capture_stdout: bool = False,
    timeout: float | None = None,
    interval: float = POLL_INTERVAL,
    role_of: Callable[[Sequence[str]], str] = default_role,
) -> MeasuredRun:
    """Run `argv` to completion, polling its process tree; return wall time and peaks.

    With `capture_stdout` the step's stdout is collected (small outputs only, e.g. the floor's
    counts); otherwise it goes to `stdout` (default /dev/null). A run over `timeout` is killed.
    """
    out_target = subprocess.PIPE if capture_stdout else stdout
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None,
        stdin=stdin, stdout=out_target, stderr=stderr,
    )
    watcher = TreeWatcher(proc.pid, role_of)
    captured = b""
    try:
        while True:
            watcher.poll()
            try:
                proc.wait(timeout=interval)
                break
            except subprocess.TimeoutExpired:
                if timeout is not None and time.perf_counter() - start > timeout:
                    raise
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - start
    if capture_stdout and proc.stdout is not None:
        captured = proc.stdout.read()  # small outputs only: the pipe buffer is 64 KB
        proc.stdout.close()
    return MeasuredRun(proc.returncode, wall, list(watcher.seen.values()), captured,
                       round(_children_cpu_s() - cpu_before, 2))
