"""The ops DB on Oracle (`ops_db_url`), checked through python-oracledb's contract.

Two `OpsDB`s on one emulated Oracle database stand for two hosts: every statement wms-ops
sends for pauses, guard runs, alerts, notifications and reconciliations goes through the
emulator's driver checks (binds, types, identifiers, DDL as Oracle takes it).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from orchestrate.alerts import open_alerts, run_check
from orchestrate.history import build_history
from orchestrate.ops_tables import GUARD_RUNS, RECONCILIATIONS
from orchestrate.opsdb import open_ops_db
from orchestrate.pauses import blocking_reason, pause, resume
from orchestrate.reconcile import latest_reconciliation
from orchestrate.timeutil import iso, utcnow
from tests import oracle_mode


def test_two_hosts_share_pauses_alerts_runs_and_reconciliations_on_oracle(project, now,
                                                                           tmp_path: Path):
    path = str(tmp_path / "ops-oracle.db")
    server = oracle_mode.server(path)
    cfg = project.config(ops_db_url=oracle_mode.oracle_url(path))
    host_a, host_b = open_ops_db(cfg), open_ops_db(cfg)  # the second finds the tables made
    try:
        pause(host_a, "incremental_sync", "dev", now + timedelta(hours=2), "WMS upgrade")
        pause(host_a, "incremental_sync", "dev", now + timedelta(hours=3), "")  # replaces it
        reason = blocking_reason(cfg, host_b, "incremental_sync", now)
        assert reason is not None and reason.startswith("paused until ")
        assert iso(now + timedelta(hours=3)) in reason
        assert resume(host_b, "incremental_sync", "dev") == 1
        assert blocking_reason(cfg, host_a, "incremental_sync", now) is None

        project.add_run("full_sync", now - timedelta(minutes=10), now - timedelta(minutes=9),
                        status="FAIL", error="Loader failed")
        opened = run_check(cfg, host_a).events + run_check(cfg, host_b).events
        assert [(e.event, e.rule) for e in opened] == [("open", "failed")]  # once, not per host
        assert [a["rule"] for a in open_alerts(host_b, "dev")] == ["failed"]
        assert host_b.query("SELECT COUNT(*) FROM notifications")[0][0] == 1
        project.add_run("full_sync", now - timedelta(minutes=5), now - timedelta(minutes=1))
        recovered = run_check(cfg, host_b).events + run_check(cfg, host_a).events
        assert [(e.event, e.rule) for e in recovered] == [("recovery", "failed")]
        project.add_run("full_sync", now - timedelta(seconds=50), now - timedelta(seconds=40),
                        status="FAIL", error="Loader failed again")
        again = run_check(cfg, host_a).events + run_check(cfg, host_b).events
        assert [(e.event, e.rule) for e in again] == [("open", "failed")]  # a closed one is history

        run = host_a.insert(GUARD_RUNS, run_id="r1", pipeline="incremental_sync",
                            environment="dev", started_at=iso(utcnow()), outcome="running",
                            command="x" * 5000, reason="é" * 3000)  # clipped to the column
        host_a.execute(GUARD_RUNS.update().where(GUARD_RUNS.c.id == run)
                       .values(outcome="skipped", ended_at=iso(utcnow())))
        [record] = [r for r in build_history(cfg, host_b) if r.run_id == "r1"]
        assert record.outcome == "skipped"
        [row] = host_b.query("SELECT command, reason FROM guard_runs WHERE run_id = 'r1'")
        assert len(row["command"]) == 4000 and len(row["reason"].encode()) <= 2000

        with host_a.transaction() as tx:
            for entity in ("order_hdr", "allocation"):
                tx.insert(RECONCILIATIONS, run_id="full1", pipeline="full_sync",
                          environment="dev", created_at=iso(now), entity=entity, wms_rows=3,
                          table_rows=2, missing_in_table=json.dumps(["7"]),
                          extra_in_table="[]", error=None)
        latest = latest_reconciliation(host_b, "dev")
        assert [(r["entity"], r["missing_in_table"]) for r in latest] == [
            ("allocation", ["7"]), ("order_hdr", ["7"])]
    finally:
        host_a.close()
        host_b.close()
    assert not server.violations
