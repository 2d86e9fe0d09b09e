"""Where the project, its executables and the benchmark history live.

The benchmarks run the real executables of the project venv (`tap-oracle-wms`, `target-oracle`,
`meltano`, `wms-simulator`) from the venv that runs the harness, so `make bench` and a plain
`.venv/bin/python -m benchmarks` measure the same installed code.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS_DIR = ROOT / "benchmarks" / "results"

#: The entities of both pipelines, in the order the plugins list them.
ENTITIES = ("allocation", "order_hdr", "order_dtl")

#: The simulator's dev credentials (docs/contracts.md).
USERNAME = "wms_dev"
PASSWORD = "wms_dev_password"


def executable(name: str) -> str:
    """Path of a console script of the harness's venv (falls back to the bare name on PATH)."""
    path = BIN / name
    return str(path) if path.exists() else name
