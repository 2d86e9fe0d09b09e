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


def _three_entities_one_row_short(project, now, sim) -> tuple[str, dict[str, list[int]]]:
    """A full sync whose tables each lack WMS's newest row: a count and an id listing each."""
    rid = project.add_run("full_sync", now - timedelta(hours=1), now)
    ids = {e: sim.store.ids(e) for e in ("allocation", "order_dtl", "order_hdr")}
    for entity, entity_ids in ids.items():
        project.add_audit(rid, "full_sync", entity, event="publish", inserted=len(entity_ids))
        project.add_table(entity, entity_ids[:-1])
    return rid, ids


def _oauth(sim) -> dict[str, str]:
    return {"wms_base_url": sim.base_url, "wms_auth_method": "oauth2",
            "wms_oauth_token_url": sim.token_url, "wms_oauth_client_id": sim.client_id,
            "wms_oauth_client_secret": sim.client_secret}


def test_reconcile_renews_a_withdrawn_token_once_per_withdrawal(project, now, sim, caplog):
    """The identity domain withdraws every token after one request: each later request meets
    a withdrawn token, costs one new token and is retried once, and the counts are exact."""
    rid, ids = _three_entities_one_row_short(project, now, sim)
    cfg = project.config(**_oauth(sim))
    sim.app.auth.withdraw_after_requests = 1
    sim.reset_stats()
    with caplog.at_level("DEBUG"):
        rows = {r["entity"]: r for r in reconcile(cfg, project.ops(cfg), run_id=rid)}
    for entity, entity_ids in ids.items():
        row = rows[entity]
        assert row["error"] is None, row["error"]
        assert (row["wms_rows"], row["table_rows"]) == (len(entity_ids), len(entity_ids) - 1)
        assert row["missing_in_table"] == [str(entity_ids[-1])]
    requests_made = 6  # a count and one page of ids per entity
    withdrawals = sim.app.auth.withdrawals
    assert withdrawals == requests_made - 1
    assert sim.stats()["statuses"] == {"200": requests_made, "401": withdrawals}
    assert sim.app.auth.describe()["requests"] == {"issued": withdrawals + 1, "refused": 0}
    assert sim.client_secret not in caplog.text and "Bearer " not in caplog.text


def test_reconcile_fails_fast_when_the_client_is_revoked_for_good(project, now, sim, caplog):
    """Revoked mid-run (its live token too): one refused token request, then every entity
    reports the login error with what to check, and no request is retried in a loop."""
    rid, ids = _three_entities_one_row_short(project, now, sim)
    cfg = project.config(**_oauth(sim))
    auth, seen = sim.app.auth, []
    check = auth.check

    def revoking_check(header):
        seen.append(header)
        if len(seen) == 2:  # the first entity's id listing
            auth.revoke_client(sim.client_id)
        return check(header)

    auth.check = revoking_check
    with caplog.at_level("DEBUG"):
        rows = reconcile(cfg, project.ops(cfg), run_id=rid)
    assert auth.describe()["requests"] == {"issued": 1, "refused": 1}
    assert len(seen) == 2  # nothing sent after the refusal
    first, *others = rows
    assert first["wms_rows"] == len(ids[first["entity"]])  # counted before the revocation
    for row in rows:
        assert "HTTP 401" in row["error"] and f"client '{sim.client_id}'" in row["error"]
        assert "wms_oauth_client_secret" in row["error"]
    assert all(row["wms_rows"] is None for row in others)
    stored = json.dumps(latest_reconciliation(project.ops(cfg), "dev"))
    tokens = [h.split(" ", 1)[1] for h in seen]
    for secret in (sim.client_secret, *tokens):
        assert secret not in caplog.text + stored
