"""`python -m benchmarks` end to end at a tiny scale: the steps run and the JSON history is written.

Only the shape and the record counts are checked, never timings: the benchmark reports its
targets, it does not assert them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_floor_and_tap_rows_land_in_the_json(tmp_path: Path) -> None:
    out_dir = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "3000", "--only", "floor,tap",
         "--output-dir", str(out_dir), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    files = list(out_dir.glob("*-3000.json"))
    assert len(files) == 1, files
    assert files[0].with_suffix(".md").exists()
    data = json.loads(files[0].read_text())
    assert data["scale"] == 3000
    rows = {row["step"]: row for row in data["rows"]}
    assert {"floor", "tap_record", "tap"} <= set(rows)
    for step in ("floor", "tap_record", "tap"):
        row = rows[step]
        assert row["ok"], row
        assert row["records"] == rows["floor"]["records"] > 0
        assert row["wall_s"] > 0 and row["records_per_s"] > 0
    assert rows["floor"]["share_of_floor"] == 1.0
    assert rows["tap"]["peak_rss_mb"].get("tap", 0) > 0
    assert {t["name"] for t in data["targets"]} >= {"full sync rate", "tap peak RSS"}
    assert "| step |" in result.stdout  # the markdown table is printed too


def test_unknown_step_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "floor,nope", "--no-save"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "unknown step" in result.stderr
