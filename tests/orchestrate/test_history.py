"""History joins Meltano runs, LOAD_AUDIT and guard skips."""

from __future__ import annotations

import json
from datetime import timedelta

from orchestrate.cli import main
from orchestrate.history import build_history, format_table
from orchestrate.opsdb import OpsDB


def _seed(project, now):
    full = project.add_run("full_sync", now - timedelta(days=2), now - timedelta(days=2, hours=-1))
    project.add_audit(full, "full_sync", "order_hdr", inserted=100)
    project.add_audit(full, "full_sync", "order_hdr", event="publish", inserted=100, updated=0,
                      deleted=3)
    inc1 = project.add_run("incremental_sync", now - timedelta(hours=3),
                           now - timedelta(hours=3) + timedelta(minutes=4),
                           bookmarks={"order_hdr": "2026-01-01T00:00:00.000000+00:00"})
    project.add_audit(inc1, "incremental_sync", "order_hdr", inserted=5, updated=2)
    project.add_audit(inc1, "incremental_sync", "order_hdr", inserted=1, rejected=1)
    project.add_audit(inc1, "incremental_sync", "order_dtl", inserted=7)
    inc2 = project.add_run("incremental_sync", now - timedelta(hours=1),
                           now - timedelta(minutes=50), status="FAIL", error="Extractor failed")
    project.add_run("incremental_sync", now - timedelta(hours=1), now, env="prod")
    return full, inc1, inc2


def test_history_rows_match_runs(project, now):
    full, _inc1, _inc2 = _seed(project, now)
    cfg = project.config()
    ops = OpsDB(cfg.ops_db_path)
    ops.execute("INSERT INTO guard_runs (run_id, pipeline, environment, started_at, ended_at, "
                "outcome, reason) VALUES ('x', 'incremental_sync', 'dev', ?, ?, 'skipped', "
                "'paused until resumed')", ((now).isoformat(), now.isoformat()))
    records = build_history(cfg, ops)
    assert [(r.pipeline, r.outcome) for r in records] == [
        ("full_sync", "success"), ("incremental_sync", "success"),
        ("incremental_sync", "failed"), ("incremental_sync", "skipped")]
    f, i1, i2, skip = records
    assert f.run_id == full.replace("-", "")
    assert f.entities == [{"stream": "order_hdr", "inserted": 100, "updated": 0, "unchanged": 0,
                           "deleted": 3, "rejected": 0}]
    assert round(f.duration_seconds) == 3600
    assert {e["stream"]: (e["inserted"], e["updated"], e["rejected"]) for e in i1.entities} == {
        "order_hdr": (6, 2, 1), "order_dtl": (7, 0, 0)}
    assert i1.bookmark == "2026-01-01T00:00:00.000000+00:00"
    assert i2.detail == "Extractor failed" and i2.entities == []
    assert skip.detail == "paused until resumed" and skip.source == "guard"
    assert len(build_history(cfg, ops, pipeline="full")) == 1
    assert len(build_history(cfg, ops, since=now - timedelta(hours=2))) == 2
    assert len(build_history(cfg, ops, all_environments=True)) == 5
    table = format_table(records)
    assert "order_dtl" in table and "Extractor failed" in table and "skipped" in table


def test_history_cli_json(project, now, monkeypatch, capsys):
    _seed(project, now)
    for k, v in project.env.items():
        monkeypatch.setenv(k, v)
    assert main(["history", "--pipeline", "incremental_sync", "--since", "7d",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["outcome"] for r in rows] == ["success", "failed"]
    assert rows[0]["environment"] == "dev" and rows[0]["duration_seconds"] == 240
    assert main(["history"]) == 0
    assert "full_sync" in capsys.readouterr().out


def test_stale_running_run_counts_as_failed(project, now):
    project.add_run("incremental_sync", now - timedelta(hours=1), None, status="RUNNING",
                    heartbeat=now - timedelta(minutes=20))
    cfg = project.config()
    [rec] = build_history(cfg, OpsDB(cfg.ops_db_path))
    assert rec.outcome == "failed" and "heartbeat" in rec.detail


def test_flattened_pipeline_override_from_meltano():
    """Meltano exports an object setting set under `config:` with dotted keys."""
    from orchestrate.config import load_config

    cfg = load_config({"WMS_OPS_PIPELINES": '{"incremental_sync.tap": "tap-x", '
                       '"incremental_sync.target": "target-y"}',
                       "WMS_OPS_INCREMENTAL_SYNC_WARNING_MINUTES": "5"})
    p = cfg.pipeline("incremental")
    assert (p.tap, p.target, p.kind, p.warning_minutes) == ("tap-x", "target-y", "incremental", 5)
    assert cfg.pipeline("full").tap == "tap-oracle-wms-full"
