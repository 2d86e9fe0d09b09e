"""The WMS simulator as a separate process, the way the pipelines meet a real tenant.

The benchmark serves from `wms-simulator serve` in its own process (not the in-process test
helper), so the server's CPU is never charged to the step being measured and every step talks
HTTP over a real socket. The port is a free one on 127.0.0.1, so a benchmark never collides with
`make demo` (8765) or another run.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks.paths import PASSWORD, ROOT, USERNAME, executable

START_TIMEOUT_S = 120


def warm_up(sim: Simulator, entities: Sequence[str], page_sizes: Sequence[int]) -> dict[str, Any]:
    """Read every page of `entities` once per page size, as the floor and the taps ask for them
    (sequenced, `ordering=id`, following `next_page`), so a caching simulator serves the
    measured steps from warm pages. Returns pages read, seconds, and the simulator's cache stats.
    """
    started = time.monotonic()
    pages = 0
    with requests.Session() as session:
        session.auth = sim.auth
        for size in sorted(set(page_sizes)):
            for entity in entities:
                url: str | None = f"{sim.base_url}/wms/lgfapi/v10/entity/{entity}/"
                params: dict[str, Any] | None = {
                    "page_size": size, "page_mode": "sequenced", "ordering": "id"}
                while url:
                    resp = session.get(url, params=params, timeout=300)
                    if resp.status_code == 404:
                        break
                    resp.raise_for_status()
                    pages += 1
                    url, params = resp.json().get("next_page"), None
        stats = session.get(f"{sim.base_url}/_sim/stats", timeout=30).json()
    return {"pages": pages, "seconds": round(time.monotonic() - started, 1),
            "cache": stats.get("cache")}


@dataclass(frozen=True)
class Simulator:
    """A running simulator: where it answers and how to log in."""

    base_url: str
    scale: int
    seed: int
    pid: int
    username: str = USERNAME
    password: str = PASSWORD

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)

    def set_latency(self, **profile: Any) -> dict[str, Any]:
        """POST /_sim/latency (replaces the profile; nothing = instant); return the profile."""
        resp = requests.post(f"{self.base_url}/_sim/latency", json=profile, timeout=60)
        resp.raise_for_status()
        return resp.json()

    def stats(self, reset: bool = False) -> dict[str, Any]:
        """GET /_sim/stats without its request log; `reset` then starts a new count."""
        url = f"{self.base_url}/_sim/stats"
        data = requests.get(url, timeout=60).json()
        data.pop("log", None)
        if reset:
            requests.delete(url, timeout=60).raise_for_status()
        return data

    def apply_changes(self, **counts: Any) -> dict[str, Any]:
        """POST /_sim/changes (e.g. `update=1000`); return the simulator's report."""
        resp = requests.post(f"{self.base_url}/_sim/changes", json=counts, auth=self.auth,
                             timeout=300)
        resp.raise_for_status()
        return resp.json()


def free_port() -> int:
    """A port nobody listens on right now (the simulator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"{base_url}/wms/lgfapi/v10/entity/"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"wms-simulator exited with {proc.returncode}:\n{tail}")
        try:
            if requests.get(url, auth=(USERNAME, PASSWORD), timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"wms-simulator did not answer {url} within {START_TIMEOUT_S} s")


@contextmanager
def serve(scale: int, seed: int, log: Path, environment: str = "dev",
          cache_mb: float = 0.0) -> Iterator[Simulator]:
    """Start `wms-simulator serve` at `scale`, yield it once it answers, stop it afterwards.

    `cache_mb` > 0 turns on the simulator's LRU of rendered pages (`--cache-mb`).
    """
    port = free_port()
    cmd = [
        executable("wms-simulator"), "serve", "--port", str(port), "--environment", environment,
        "--scale", str(scale), "--seed", str(seed),
    ]
    if cache_mb and cache_mb > 0:
        cmd += ["--cache-mb", str(cache_mb)]
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_fh, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}/{environment}"
            _wait_until_up(proc, base_url, log)
            yield Simulator(base_url=base_url, scale=scale, seed=seed, pid=proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
