"""Run the tap through its real CLI and read its Singer output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, t.Any]] = field(default_factory=list)

    def of_type(self, kind: str, stream: str | None = None) -> list[dict[str, t.Any]]:
        return [
            m
            for m in self.messages
            if m["type"] == kind and (stream is None or m.get("stream") == stream)
        ]

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [m["record"] for m in self.of_type("RECORD", stream)]

    def ids(self, stream: str) -> list[int]:
        return [r["id"] for r in self.records(stream)]

    @property
    def last_state(self) -> dict[str, t.Any] | None:
        states = self.of_type("STATE")
        return states[-1]["value"] if states else None


def base_config(sim: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    config = {
        "base_url": sim.base_url,
        "auth_method": "basic",
        "username": sim.username,
        "password": sim.password,
        "page_size": 100,
        "retry_backoff_seconds": 0.01,
        "max_retries": 4,
        "timeout": 10,
    }
    config.update(overrides)
    return config


def _write(tmp: Path, name: str, data: dict[str, t.Any]) -> str:
    path = tmp / name
    path.write_text(json.dumps(data))
    return str(path)


def parse_messages(text: str) -> list[dict[str, t.Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill
            break
    return out


def run_tap(
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    args: t.Sequence[str] = (),
    timeout: float = 120,
    env: t.Mapping[str, str] | None = None,
) -> TapRun:
    """`env` adds variables to the tap's environment (e.g. LOGLEVEL=DEBUG)."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cmd = [TAP, "--config", _write(tmp, "config.json", config), *args]
        if state is not None:
            cmd += ["--state", _write(tmp, "state.json", state)]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**_env(), **(env or {})},
            check=False,
        )
    return TapRun(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


def run_tap_and_kill(
    config: dict[str, t.Any],
    *,
    after_states: int,
    state: dict[str, t.Any] | None = None,
) -> TapRun:
    """SIGKILL the tap once it has written `after_states` STATE messages: no chance
    to write anything on the way out, like a crashed host."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cmd = [TAP, "--config", _write(tmp, "config.json", config)]
        if state is not None:
            cmd += ["--state", _write(tmp, "state.json", state)]
        err_path = tmp / "stderr"
        with err_path.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=_env())
            lines: list[str] = []
            seen = 0
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if line.startswith('{"type":"STATE"'):
                    seen += 1
                    if seen >= after_states:
                        proc.send_signal(signal.SIGKILL)
                        break
            proc.wait(timeout=30)
            proc.stdout.close()
        stderr = err_path.read_text()
    stdout = "".join(lines)
    return TapRun(proc.returncode, stdout, stderr, parse_messages(stdout))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env
