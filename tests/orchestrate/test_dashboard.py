"""The dashboard renders offline in headless Chromium and shows both pipelines."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest

from orchestrate.alerts import run_check
from orchestrate.dashboard import write_dashboard
from orchestrate.reconcile import reconcile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _seed(project, now):
    for i in range(6):
        start = now - timedelta(hours=2 * (6 - i))
        rid = project.add_run("incremental_sync", start, start + timedelta(minutes=5 + 10 * i),
                              bookmarks={"order_hdr": f"2026-01-0{i + 1}T00:00:00.000000+00:00"})
        project.add_audit(rid, "incremental_sync", "order_hdr", inserted=10 * i, updated=i)
        project.add_audit(rid, "incremental_sync", "allocation", inserted=3 * i)
    rid = project.add_run("full_sync", now - timedelta(days=1), now - timedelta(hours=22))
    project.add_audit(rid, "full_sync", "order_hdr", inserted=120)
    project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=120, deleted=2)
    project.add_table("order_hdr", list(range(1, 121)), [500, 501])
    project.add_run("full_sync", now - timedelta(hours=3), now - timedelta(hours=2, minutes=59),
                    status="FAIL", error="target-oracle-full: ORA-01017")
    return rid


def test_dashboard_html_is_self_contained(project, now):
    _seed(project, now)
    cfg = project.config()
    ops = project.ops(cfg)
    run_check(cfg, ops)
    page = write_dashboard(cfg, ops, project.root / "site")
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") == 4


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI: apt-get install "
                                             "chromium); the HTML test above still ran")
def test_dashboard_in_headless_chromium(project, now, tmp_path):
    full_run = _seed(project, now)
    cfg = project.config(incremental_sync_warning_minutes=40)
    ops = project.ops(cfg)
    reconcile(cfg, ops, run_id=full_run)  # no WMS configured: table side only, error noted
    run_check(cfg, ops)
    page = write_dashboard(cfg, ops, project.root / "site")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([*cmd, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60).stdout
    for visible in ("WMS pipelines", "full_sync", "incremental_sync", "Recent run durations",
                    "warning threshold 40 min", "warning threshold 120 min",
                    "Records per entity", "allocation", "Freshness per entity",
                    "Last reconciliation", "ORA-01017", "CRITICAL", "wms_base_url not configured"):
        assert visible in dom, visible
    shot = tmp_path / "shot.png"
    subprocess.run([*cmd, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=60)
    assert shot.exists() and shot.stat().st_size > 10_000
