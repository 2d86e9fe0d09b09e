"""wms-ops reads an Oracle warehouse through python-oracledb's contract (oracle mode).

The target loads the warehouse through its Oracle path on the emulator
(:mod:`tests.oracle_mode`); ops' :class:`orchestrate.warehouse.Warehouse` then reads it with
the same driver stand-in, so every statement ops sends — table lookup, the audit sums, live
counts and ids — is checked as python-oracledb would check it and run with Oracle's names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestrate.leases import LeaseLock
from orchestrate.warehouse import Warehouse
from target_oracle.target import TargetOracle
from tests import oracle_mode
from tests.target.conftest import V2, marker, rec, schema_msg, ts


def load(url: str, messages: list[dict], **config: Any) -> None:
    target = TargetOracle(config={"sqlalchemy_url": url, "table_prefix": "WMS_", **config})
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    path = str(tmp_path / "wh.db")
    server = oracle_mode.server(path)
    url = oracle_mode.oracle_url(path)
    monkeypatch.setenv("MELTANO_RUN_ID", "runupsert")
    load(url, [schema_msg(), rec(1, ts(1), code="a"), rec(2, ts(1), code="b"),
               rec(3, ts(1), code="c")], load_method="upsert")
    monkeypatch.setenv("MELTANO_RUN_ID", "runfull")
    load(url, [schema_msg(), marker(V2), rec(1, ts(2), version=V2, code="a2"),
               rec(3, ts(1), version=V2, code="c"), marker(V2)])
    return url, server


def test_ops_reads_audit_counts_and_live_rows_through_the_driver_contract(loaded):
    url, server = loaded
    wh = Warehouse(url, "WMS_")
    try:
        counts = wh.audit_counts()
        assert sorted(counts) == ["runfull", "runupsert"]
        (upsert,) = counts["runupsert"]
        assert (upsert.stream, upsert.table_name) == ("order_hdr", "WMS_ORDER_HDR")
        assert upsert.effective["inserted"] == 3
        # fetched as naive datetimes (thin mode), read as the UTC instant the target stored
        with contextlib.closing(sqlite3.connect(server.path)) as raw:
            (stored,) = raw.execute("SELECT MIN(STARTED_AT) FROM WMS_LOAD_AUDIT "
                                    "WHERE RUN_ID = 'runupsert'").fetchone()
        assert upsert.first_started_at == dt.datetime.fromisoformat(stored)
        (full,) = counts["runfull"]
        assert full.published
        assert {k: full.effective[k] for k in ("updated", "unchanged", "deleted")} == {
            "updated": 1, "unchanged": 1, "deleted": 1}
        assert wh.live_count("WMS_ORDER_HDR") == 2
        assert wh.live_ids("WMS_ORDER_HDR") == {"1", "3"}
        assert wh.audit_counts(["runupsert"]).keys() == {"runupsert"}
    finally:
        wh.dispose()
    assert not server.violations


def test_a_missing_table_is_oracles_error_not_an_empty_answer(loaded):
    url, _ = loaded
    wh = Warehouse(url, "OTHER_")
    try:
        assert wh.audit_counts() == {}  # no audit table yet: nothing to report
        with pytest.raises(Exception, match="ORA-00942"):
            wh.live_count("OTHER_ORDER_HDR")
    finally:
        wh.dispose()


def test_the_lease_table_works_through_the_driver_contract(tmp_path):
    path = str(tmp_path / "locks.db")
    server = oracle_mode.server(path)
    url = oracle_mode.oracle_url(path)
    first = LeaseLock(url, "wms:full", 300)
    second = LeaseLock(url, "wms:full", 300)
    try:
        assert first.try_acquire({"host": "a"})
        assert not second.try_acquire({"host": "b"})  # ORA-00001 on the key: held
        assert second.holder() == {"host": "a"}
        assert first.renew()
        first.release()
        assert second.try_acquire({"host": "b"})
        stale = LeaseLock(url, "wms:incr", 0)
        assert stale.try_acquire({"host": "gone"})
        taker = LeaseLock(url, "wms:incr", 300)
        assert taker.try_acquire({"host": "c"})  # expired: compare-and-delete, then insert
        assert taker.holder() == {"host": "c"}
    finally:
        for lock in (first, second):
            lock.engine.dispose()
    assert not server.violations


def test_a_separate_ops_user_finds_the_targets_schema_only_when_it_names_it(tmp_path):
    """The target loads into WMS_DW (``default_target_schema``); ops logs in as OPS."""
    path = str(tmp_path / "wh.db")
    server = oracle_mode.server(path, schemas=("WMS_DW", "OPS"))
    load(oracle_mode.oracle_url(path), [schema_msg(), rec(1, ts(1), code="a")],
         load_method="upsert", default_target_schema="wms_dw")
    ops_url = oracle_mode.oracle_url(path, user="OPS")
    wh = Warehouse(ops_url, "WMS_", schema="WMS_DW")
    try:
        assert [s.table_name for runs in wh.audit_counts().values() for s in runs] == [
            "WMS_ORDER_HDR"]
        assert wh.live_count("WMS_ORDER_HDR") == 1
    finally:
        wh.dispose()
    unqualified = Warehouse(ops_url, "WMS_")  # defect 11: the login's own schema is empty
    try:
        assert unqualified.audit_counts() == {}
        with pytest.raises(Exception, match="ORA-00942"):
            unqualified.live_count("WMS_ORDER_HDR")
    finally:
        unqualified.dispose()
    assert not server.violations
