"""Operating the real pipelines with wms-ops: history, pauses, dashboard — after real runs."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import ENTITIES, wms_truth

from tests.orchestrate.receivers import WebhookReceiver

pytestmark = pytest.mark.e2e

INCREMENTAL_STATE = "dev:tap-oracle-wms-incremental-to-target-oracle-incremental"


def _config(project, plugin: str, environment: str, **env: str) -> dict:
    saved = dict(project.env)
    project.env.update(env)
    try:
        out = project.meltano("--environment", environment, "config", "print", plugin).stdout
    finally:
        project.env.clear()
        project.env.update(saved)
    return json.loads(out)


def test_staging_and_prod_give_wms_ops_the_targets_schema(project) -> None:
    for environment in ("staging", "prod"):
        ops = _config(project, "wms-ops", environment, ORACLE_SCHEMA="WMS_DW")
        target = _config(project, "target-oracle", environment, ORACLE_SCHEMA="WMS_DW")
        assert ops["target_schema"] == target["default_target_schema"] == "WMS_DW", environment


def test_history_and_reconcile_find_a_load_into_the_target_schema(project, simulator) -> None:
    """A target given a schema (as in staging/prod) and wms-ops given the same: on SQLite the
    target ignores the schema, and so must wms-ops, or it finds nothing."""
    project.env["TARGET_ORACLE_DEFAULT_TARGET_SCHEMA"] = "WMS_DW"
    project.env["WMS_OPS_TARGET_SCHEMA"] = "WMS_DW"
    project.meltano("run", "full_sync")  # reconciles at its end

    out = project.meltano("invoke", "wms-ops", "history", "--format", "json").stdout
    [full] = json.loads(out)
    assert full["outcome"] == "success"
    loaded = {e["stream"]: e["inserted"] for e in full["entities"]}
    assert loaded == {e: len(simulator.store.ids(e)) for e in ENTITIES}
    out = project.meltano("invoke", "wms-ops", "history", "--reconciliation").stdout
    report = {r["entity"]: r for r in json.loads(out)}
    assert sorted(report) == sorted(ENTITIES)
    for entity, row in report.items():
        assert row["error"] is None, row
        assert row["table_rows"] == row["wms_rows"] == len(simulator.store.ids(entity)), row


def test_history_matches_the_runs(project, simulator) -> None:
    ids_before = {e: len(simulator.store.ids(e)) for e in ENTITIES}
    project.meltano("run", "full_sync")
    report = simulator.apply_changes(update=10, insert=4)
    project.meltano("run", "incremental_sync")

    out = project.meltano("invoke", "wms-ops", "history", "--format", "json").stdout
    runs = {r["pipeline"]: r for r in json.loads(out)}
    assert runs["full_sync"]["outcome"] == runs["incremental_sync"]["outcome"] == "success"
    full = {e["stream"]: e for e in runs["full_sync"]["entities"]}
    incremental = {e["stream"]: e for e in runs["incremental_sync"]["entities"]}
    for entity in ENTITIES:
        assert full[entity]["inserted"] == ids_before[entity], entity
        assert incremental[entity]["inserted"] == len(report.ids(entity, "inserted")), entity
        assert incremental[entity]["updated"] == len(report.ids(entity, "updated")), entity
        newest = max(wms_truth(simulator, entity).values())
        assert runs["incremental_sync"]["bookmarks"][entity] == newest, entity


def test_paused_incremental_is_skipped_and_changes_nothing(project, simulator) -> None:
    project.meltano("run", "full_sync")
    project.meltano("invoke", "wms-ops", "pause", "incremental", "--until", "2h")
    state_before = project.meltano("state", "get", INCREMENTAL_STATE).stdout
    audit_before = project.query("SELECT count(*) FROM WMS_LOAD_AUDIT")
    simulator.apply_changes(update=5)

    skipped = project.meltano("run", "incremental_sync")  # exit 0 is checked by meltano()
    assert "SKIPPED" in skipped.stdout + skipped.stderr
    assert project.meltano("state", "get", INCREMENTAL_STATE).stdout == state_before
    assert project.query("SELECT count(*) FROM WMS_LOAD_AUDIT") == audit_before

    project.meltano("invoke", "wms-ops", "resume", "incremental")
    project.meltano("run", "incremental_sync")
    for entity in ENTITIES:
        assert project.live_rows(entity) == wms_truth(simulator, entity), entity


def test_dashboard_shows_both_pipelines_after_real_runs(project, simulator, tmp_path) -> None:
    project.meltano("run", "full_sync")
    project.meltano("run", "incremental_sync")
    site = tmp_path / "site"
    project.meltano("invoke", "wms-ops", "dashboard", "--output", str(site))
    html = (site / "index.html").read_text()
    assert "full_sync" in html and "incremental_sync" in html
    assert all(entity in html for entity in ENTITIES)


def test_failed_run_alerts_critical_once_then_recovers(project, simulator) -> None:
    hook = WebhookReceiver()
    try:
        project.env["WMS_OPS_WEBHOOK_URL"] = hook.url
        project.meltano("run", "full_sync")
        project.env["TAP_ORACLE_WMS_PASSWORD"] = "not-the-password"
        failed = project.meltano("run", "incremental_sync", check=False)
        assert failed.returncode != 0
        project.meltano("invoke", "wms-ops", "check")  # the same open alert is not sent again
        critical = [b["text"] for b in hook.bodies if "CRITICAL" in b["text"]]
        assert len(critical) == 1 and "incremental_sync" in critical[0], hook.bodies
        assert "not-the-password" not in json.dumps(hook.bodies)

        del project.env["TAP_ORACLE_WMS_PASSWORD"]
        project.meltano("run", "incremental_sync")
        recovered = [b["text"] for b in hook.bodies if "RECOVERED" in b["text"].upper()]
        assert len(recovered) == 1 and "incremental_sync" in recovered[0], hook.bodies
    finally:
        hook.close()
