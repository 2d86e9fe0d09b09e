"""The command around the checks: settings that Meltano cannot give are one named failure."""

from __future__ import annotations

import io
import json
from pathlib import Path

from doctor_helpers import settings

from orchestrate.doctor.command import doctor


def test_meltano_that_cannot_print_the_settings_is_a_named_failure(tmp_path: Path) -> None:
    cfg = settings(tmp_path, {}, meltano_bin="/bin/false").ops
    out = io.StringIO()
    assert doctor(cfg, "full", "text", out=out) == 1
    text = out.getvalue()
    assert "✗ settings.meltano: `meltano config print tap-oracle-wms-full` failed" in text
    assert "0 ✔  0 !  1 ✗" in text


def test_json_report_names_environment_pipeline_and_counts(tmp_path: Path) -> None:
    cfg = settings(tmp_path, {}, meltano_bin="/bin/false").ops
    out = io.StringIO()
    assert doctor(cfg, "incremental", "json", out=out) == 1
    report = json.loads(out.getvalue())
    assert report["pipeline"] == "incremental_sync" and report["environment"] == "dev"
    assert report["ok"] is False and report["counts"] == {"ok": 0, "warning": 0, "fail": 1}
    assert report["checks"][0]["fix"]
