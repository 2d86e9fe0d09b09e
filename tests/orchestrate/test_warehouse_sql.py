"""What wms-ops sends to the Oracle warehouse (issue 11, defect 11): every name in the target's
schema, spelled as the target spells it. Golden text, parsed with sqlglot read="oracle" like
tests/target/test_oracle_sql.py (no Oracle server here); on SQLite the schema is ignored, as the
target ignores it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateTable
from sqlglot import exp

from orchestrate.config import conform_schema, default_lock_key
from orchestrate.history import build_history
from orchestrate.leases import LeaseLock, lease_schema
from orchestrate.opsdb import OpsDB
from orchestrate.warehouse import Warehouse

ORACLE_URL = "oracle+oracledb://wms_ops:pw@db.invalid:1521/?service_name=WH"
LOADER_URL = "oracle+oracledb://wms_etl:other@db.invalid:1521/?service_name=WH"

GOLDEN = {
    "audit": (
        "SELECT RUN_ID AS run_id, PIPELINE AS pipeline, STREAM AS stream, "
        "TABLE_NAME AS table_name, EVENT AS event, SUM(INSERTED) AS inserted, "
        "SUM(UPDATED) AS updated, SUM(UNCHANGED) AS unchanged, SUM(DELETED) AS deleted, "
        "SUM(REJECTED) AS rejected, MIN(STARTED_AT) AS first_started, "
        "MAX(FINISHED_AT) AS last_finished FROM WMS_DW.WMS_LOAD_AUDIT "
        "GROUP BY RUN_ID, PIPELINE, STREAM, TABLE_NAME, EVENT"),
    "live_count": (
        'SELECT COUNT(*) FROM WMS_DW.WMS_ORDER_HDR WHERE "_SDC_DELETED_AT" IS NULL'),
    "live_ids": (
        'SELECT ID FROM WMS_DW.WMS_ORDER_HDR WHERE "_SDC_DELETED_AT" IS NULL'),
}


def _statements(wh: Warehouse) -> dict[str, str]:
    return {"audit": wh.audit_sql(), "live_count": wh.live_count_sql("WMS_ORDER_HDR"),
            "live_ids": wh.live_ids_sql("WMS_ORDER_HDR")}


def _parse(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)


def _binds(text: str) -> set[str]:
    return set(re.findall(r"(?<![:\w]):(\w+)", re.sub(r"'[^']*'|\"[^\"]*\"", "", text)))


@pytest.mark.parametrize("schema", ["WMS_DW", "wms_dw", " wms-dw "])
def test_oracle_reads_name_the_target_schema(schema: str) -> None:
    wh = Warehouse(ORACLE_URL, "WMS_", schema)  # no connection is made to build statements
    assert _statements(wh) == GOLDEN
    for name, text in GOLDEN.items():
        tables = list(_parse(text).find_all(exp.Table))
        assert [(t.db, t.name) for t in tables] == [
            ("WMS_DW", "WMS_LOAD_AUDIT" if name == "audit" else "WMS_ORDER_HDR")], name
        # the driver gets no parameters; SQLAlchemy's text() finds no bind either (DPY-4008)
        assert _binds(text) == set() == set(sa.text(text).compile(dialect=oracle.dialect())
                                            .params), name


def test_oracle_reads_without_schema_stay_in_the_login_schema() -> None:
    wh = Warehouse(ORACLE_URL, "WMS_")
    texts = _statements(wh)
    assert "FROM WMS_LOAD_AUDIT GROUP BY" in texts["audit"]
    assert texts["live_count"] == (
        'SELECT COUNT(*) FROM WMS_ORDER_HDR WHERE "_SDC_DELETED_AT" IS NULL')
    for text in texts.values():
        _parse(text)


def test_schema_is_conformed_as_the_target_conforms_it() -> None:
    assert conform_schema("wms-dw") == "WMS_DW"
    assert conform_schema("1st") == "C_1ST"
    # two schemas behind one login are two warehouses: two locks
    assert default_lock_key(ORACLE_URL, "WMS_", "A") != default_lock_key(ORACLE_URL, "WMS_", "B")
    assert default_lock_key(ORACLE_URL, "WMS_") == default_lock_key(ORACLE_URL, "WMS_", None)


def test_sqlite_ignores_the_schema_like_the_target(project, now) -> None:
    """The dev/test warehouse: a target with default_target_schema writes SQLite unqualified,
    so ops with target_schema must still find the run."""
    run = project.add_run("full_sync", now - timedelta(minutes=30), now - timedelta(minutes=20))
    project.add_audit(run, "full_sync", "order_hdr", event="publish", inserted=12)
    project.add_table("order_hdr", list(range(12)))
    cfg = project.config(target_schema="WMS_DW")
    [record] = build_history(cfg, OpsDB(cfg.ops_db_path))
    assert record.entities == [{"stream": "order_hdr", "inserted": 12, "updated": 0,
                                "unchanged": 0, "deleted": 0, "rejected": 0}]
    wh = Warehouse(cfg.warehouse_url, "", "WMS_DW")
    assert wh.schema is None and wh.live_count("order_hdr") == 12
    assert wh.live_ids_sql("order_hdr") == (
        'SELECT "id" FROM "order_hdr" WHERE "_sdc_deleted_at" IS NULL')


def test_lease_table_lives_in_the_target_schema_when_lock_url_is_the_warehouse() -> None:
    # same database, whoever logs in: beside the tables it guards
    assert lease_schema(ORACLE_URL, LOADER_URL, "WMS_DW") == "wms_dw"
    assert lease_schema(ORACLE_URL, ORACLE_URL, None) is None  # the login's own schema
    assert lease_schema("postgresql://m:p@pg/meltano", LOADER_URL, "WMS_DW") is None
    assert lease_schema(ORACLE_URL.replace("db.invalid", "other.invalid"), LOADER_URL,
                        "WMS_DW") is None
    lease = LeaseLock(ORACLE_URL, "k", 300, token="t", schema="wms_dw")
    statements = {
        "create": CreateTable(lease.table),
        "select": lease.select_row(),
        "insert": lease.insert_row({"pid": 1}, 1.0),
        "take_over": lease.delete_expired("t0", 2.0),
        "renew": lease.extend_own(3.0),
        "release": lease.delete_own(),
    }
    for name, statement in statements.items():
        compiled = statement.compile(dialect=oracle.dialect())
        text = str(compiled)
        assert "wms_dw.wms_ops_locks" in text, name
        assert _binds(text) == set(compiled.params or {}), name  # bound = named in the text
        literal = str(statement.compile(dialect=oracle.dialect(),
                                        compile_kwargs={"literal_binds": True}))
        tables = {(t.db.upper(), t.name.upper()) for t in _parse(literal).find_all(exp.Table)}
        assert tables == {("WMS_DW", "WMS_OPS_LOCKS")}, name



def test_workers_logging_in_as_different_users_share_one_lease_in_the_schema(tmp_path) -> None:
    """Through python-oracledb's contract (tests/oracle_mode): unqualified, each login would
    get a wms_ops_locks of its own and both would "hold" the lock; in the target's schema,
    one table and one holder."""
    from tests import oracle_mode

    path = str(tmp_path / "wh.db")
    server = oracle_mode.server(path, schemas=("WMS_DW", "OPS_A", "OPS_B"))
    urls = [oracle_mode.oracle_url(path, user=user) for user in ("OPS_A", "OPS_B")]
    leases = [LeaseLock(url, "wh", 300, schema="wms_dw") for url in urls]
    own = [LeaseLock(url, "wh", 300) for url in urls]
    try:
        assert [lease.try_acquire({"worker": i}) for i, lease in enumerate(leases)] == [
            True, False]
        assert leases[1].holder() == {"worker": 0}
        assert [lease.try_acquire({"own": i}) for i, lease in enumerate(own)] == [True, True]
    finally:
        for lease in (*leases, *own):
            lease.engine.dispose()
    assert not server.violations
