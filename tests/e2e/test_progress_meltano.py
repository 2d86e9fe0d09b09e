"""Issue 20 through Meltano itself: `meltano run full_sync` (the guard job) hands the tap the
progress file through the inner `meltano run`, and `meltano invoke wms-ops status` shows the
pipeline running with its percent while the run goes on."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from e2e_helpers import BIN, ROOT


def _wait_for(cond, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _progress(running: Path) -> dict | None:
    for path in running.glob("*.progress.json"):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None
    return None


def test_meltano_run_shows_percent_in_status_mid_run(project, simulator) -> None:
    # Slow pages while we look (a steady second per request), instant once we have looked.
    simulator.set_latency(per_request=1.0, max_concurrent=4)
    env = {**project.env, "TAP_ORACLE_WMS_FULL_PAGE_SIZE": "50",
           "TAP_ORACLE_WMS_FULL_PROGRESS_INTERVAL_SECONDS": "1"}
    running = Path(env["MELTANO_SYS_DIR_ROOT"]) / "wms-ops" / "running"
    proc = subprocess.Popen([str(BIN / "meltano"), "run", "full_sync"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: (_progress(running) or {}).get("run", {}).get("percent") is not None
                  or proc.poll() is not None)
        assert proc.poll() is None, "the run ended before progress was seen"
        status = project.meltano("invoke", "wms-ops", "status").stdout
        line = next(x for x in status.splitlines() if x.startswith("full_sync"))
        assert "running since" in line and "% (" in line and "ETA " in line, status
    finally:
        simulator.set_latency()
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:]
    assert "Progress run: 100%" in out
    after = project.meltano("invoke", "wms-ops", "status").stdout
    assert "running since" not in after and "GONE" not in after
    assert not list(running.glob("*.json"))
