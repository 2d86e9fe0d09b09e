"""Reconciliation against the WMS simulator on 127.0.0.1 (Basic and OAuth2 logins)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from orchestrate.reconcile import latest_reconciliation, reconcile


@pytest.fixture
def sim():
    from wms_simulator.testing import running_simulator

    with running_simulator(scale=400) as handle:
        yield handle


def test_reconcile_counts_and_ids(project, now, sim):
    hdr_ids, item_ids = sim.store.ids("order_hdr"), sim.store.ids("order_dtl")
    rid = project.add_run("full_sync", now - timedelta(hours=1), now)
    for entity in ("order_hdr", "order_dtl"):
        project.add_audit(rid, "full_sync", entity, inserted=10)
    project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=2, updated=3,
                      deleted=1)
    project.add_audit(rid, "full_sync", "order_dtl", event="publish", unchanged=5)
    # order_hdr: the last WMS row is only soft-deleted in the table, and the table has one
    # row WMS does not (same count); order_dtl matches.
    extra = hdr_ids[-1] + 1000
    project.add_table("order_hdr", [*hdr_ids[:-1], extra], deleted_ids=[hdr_ids[-1]])
    project.add_table("order_dtl", item_ids)
    cfg = project.config(wms_base_url=sim.base_url, wms_username=sim.username,
                         wms_password=sim.password, reconcile_max_ids=5)
    ops = project.ops(cfg)
    sim.reset_stats()
    rows = {r["entity"]: r for r in reconcile(cfg, ops)}  # latest successful full sync
    assert rows["order_dtl"]["wms_rows"] == rows["order_dtl"]["table_rows"] == len(item_ids)
    assert rows["order_dtl"]["missing_in_table"] == []
    hdr = rows["order_hdr"]
    assert (hdr["wms_rows"], hdr["table_rows"]) == (len(hdr_ids), len(hdr_ids))
    assert (hdr["inserted"], hdr["changed"], hdr["deleted"]) == (2, 3, 1)
    assert hdr["missing_in_table"] == [] and hdr["error"] is None  # same count: no id diff
    assert sim.stats()["requests"]["order_hdr"] == {"paged": 1}  # one count call, no id listing
    # a differing count (WMS gained rows) triggers the id comparison
    report = sim.apply_changes(insert=2, entities=["order_hdr"])
    new_ids = sorted(set(sim.store.ids("order_hdr")) - set(hdr_ids))
    assert len(new_ids) == 2, report
    rows = {r["entity"]: r for r in reconcile(cfg, ops, run_id=rid)}
    missing = [str(i) for i in sorted([hdr_ids[-1], *new_ids])]
    assert rows["order_hdr"]["missing_in_table"] == missing
    assert rows["order_hdr"]["extra_in_table"] == [str(extra)]
    stored = {r["entity"]: r for r in latest_reconciliation(ops, "dev")}
    assert stored["order_hdr"]["missing_in_table"] == missing


def test_reconcile_logs_in_with_oauth2_like_the_tap(project, now, sim, caplog):
    """Tenants that give the tap OAuth2 client credentials have no Basic user for wms-ops:
    reconciliation logs in the same way, against the simulator's token endpoint."""
    ids = sim.store.ids("order_hdr")
    rid = project.add_run("full_sync", now - timedelta(hours=1), now)
    project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=len(ids))
    project.add_table("order_hdr", ids[:-1])  # the newest row never landed
    login = {"wms_base_url": sim.base_url, "wms_auth_method": "oauth2",
             "wms_oauth_token_url": sim.token_url, "wms_oauth_client_id": sim.client_id}
    cfg = project.config(**login, wms_oauth_client_secret=sim.client_secret)
    ops = project.ops(cfg)
    row = reconcile(cfg, ops, run_id=rid)[0]
    assert row["error"] is None
    assert (row["wms_rows"], row["table_rows"]) == (len(ids), len(ids) - 1)
    assert row["missing_in_table"] == [str(ids[-1])]
    assert len(sim.app.auth.tokens) == 1  # one token for the count and every id page

    wrong = "not-the-secret-123"
    with caplog.at_level("DEBUG"):
        row = reconcile(project.config(**login, wms_oauth_client_secret=wrong), ops,
                        run_id=rid)[0]
    assert row["wms_rows"] is None and row["table_rows"] == len(ids) - 1
    assert f"client '{sim.client_id}'" in row["error"] and "HTTP 401" in row["error"]
    assert "wms_oauth_client_secret" in row["error"]  # what to check
    stored = json.dumps(latest_reconciliation(ops, "dev"))
    assert wrong not in caplog.text + stored and sim.client_secret not in caplog.text + stored
