"""Against a real Oracle (opt-in): the statements no emulator can vouch for.

Set ``TARGET_ORACLE_TEST_URL=oracle+oracledb://loader:pw@host:1521/?service_name=…`` — a
user that may create tables in its own schema. Optional:

* ``TARGET_ORACLE_TEST_SCHEMA``: the schema the target loads into with
  ``default_target_schema`` (default: the loader's own, named explicitly). The loader must
  be able to create, drop and grant SELECT on tables there.
* ``TARGET_ORACLE_TEST_OPS_URL``: a second, separate user, as wms-ops logs in; it is granted
  SELECT on the tables the test made, and reads them through ``default_target_schema``.

Every test works under a fresh table prefix and drops (``PURGE``) every table it made, also
when it fails; the lease test drops ``wms_ops_locks`` only if it created it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from target_oracle.quarantine import TooManyRejects

from .conftest import SCHEMA, V1, V2, marker, rec, schema_msg, ts

URL = os.environ.get("TARGET_ORACLE_TEST_URL")
OPS_URL = os.environ.get("TARGET_ORACLE_TEST_OPS_URL")
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not URL, reason="TARGET_ORACLE_TEST_URL not set: no Oracle to test"),
]


class LiveOracle:
    """One test's tables: a unique prefix, the target run in-process, SQL reads, cleanup."""

    def __init__(self, engine: sa.Engine, schema: str | None = None) -> None:
        self.engine = engine
        self.prefix = f"T{uuid.uuid4().hex[:8].upper()}_"
        self.schema = schema  # default_target_schema, when the test loads into one
        with engine.connect() as conn:
            self.login = str(conn.exec_driver_sql(  # where unqualified tables land
                "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM dual").scalar())

    @property
    def owner(self) -> str:
        return (self.schema or self.login).upper()

    def run(self, messages: list[dict], **config: Any) -> None:
        from target_oracle.target import TargetOracle

        cfg: dict[str, Any] = {"sqlalchemy_url": URL, "table_prefix": self.prefix, **config}
        if self.schema:
            cfg["default_target_schema"] = self.schema
        target = TargetOracle(config=cfg)
        text = "".join(json.dumps(m) + "\n" for m in messages)
        with contextlib.redirect_stdout(io.StringIO()):
            target.listen(io.StringIO(text))

    def sql(self, text: str) -> str:
        """``{P}ORDER_HDR`` → this test's table, schema-qualified."""
        return text.replace("{P}", f"{self.owner}.{self.prefix}")

    def query(self, sql: str, **binds: Any) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(_plain(v) for v in row) for row in
                    conn.exec_driver_sql(self.sql(sql), binds).fetchall()]

    def execute(self, *statements: str) -> None:
        """DDL/DML of the test itself, one transaction each (every DDL commits anyway)."""
        for sql in statements:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(self.sql(sql))

    def columns(self, table: str) -> dict[str, tuple]:
        rows = self.query(
            "SELECT COLUMN_NAME, DATA_TYPE, CHAR_LENGTH, DATA_PRECISION, DATA_SCALE "
            "FROM ALL_TAB_COLUMNS WHERE OWNER = :owner AND TABLE_NAME = :t ORDER BY COLUMN_ID",
            owner=self.owner, t=f"{self.prefix}{table}")
        return {r[0]: r[1:] for r in rows}

    def drop_all(self) -> None:
        """Every table of this test's prefix (staging GTTs, snapshots, rejects, audit)."""
        tables = self.query(
            "SELECT TABLE_NAME FROM ALL_TABLES WHERE OWNER = :owner "
            "AND TABLE_NAME LIKE :p ESCAPE '\\'",
            owner=self.owner, p=self.prefix.replace("_", "\\_") + "%")
        for (name,) in tables:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP TABLE {self.owner}."{name}" PURGE')


def _plain(value: Any) -> Any:
    """LOBs read as text, so rows compare as plain values."""
    return value.read() if hasattr(value, "read") else value


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    import oracledb

    before = oracledb.defaults.fetch_decimals
    oracledb.defaults.fetch_decimals = True  # NUMBER → Decimal: exact comparisons
    eng = sa.create_engine(URL)
    yield eng
    eng.dispose()
    oracledb.defaults.fetch_decimals = before


@pytest.fixture
def ora(engine: sa.Engine) -> Iterator[LiveOracle]:
    live = LiveOracle(engine)
    try:
        yield live
    finally:
        live.drop_all()


def _full(version: int, ids: list, **extra: Any) -> list[dict]:
    return [schema_msg(), marker(version),
            *[rec(i, ts(2), version=version, code=f"c{i}", **extra) for i in ids],
            marker(version)]


# ----------------------------------------------------------------------------------------------

def test_upsert_and_publish_on_oracle(ora):
    ora.run([schema_msg(), rec(1, ts(5), code="new")], load_method="upsert")
    ora.run([schema_msg(), rec(1, ts(3), code="stale"), rec(2, ts(1), code="b")],
            load_method="upsert")
    assert ora.query("SELECT ID, CODE FROM {P}ORDER_HDR ORDER BY ID") == [(1, "new"), (2, "b")]
    ora.run([schema_msg(), marker(V1), rec(1, ts(6), version=V1), marker(V1)])
    ora.run([schema_msg(), marker(V2), rec(1, ts(6), version=V2), marker(V2)],
            use_direct_path=True)
    deleted = ora.query('SELECT ID FROM {P}ORDER_HDR WHERE "_SDC_DELETED_AT" IS NOT NULL')
    assert deleted == [(2,)]
    assert ora.query("SELECT COUNT(*) FROM {P}LOAD_AUDIT")[0][0] >= 4


EVERY_TYPE = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "n_int": {"type": ["integer", "null"]},
        "n_num": {"type": ["number", "null"]},
        "s_short": {"type": ["string", "null"], "maxLength": 20},
        "s_plain": {"type": ["string", "null"]},
        "s_long": {"type": ["string", "null"], "maxLength": 10000},
        "ts": {"type": ["string", "null"], "format": "date-time"},
        "d": {"type": ["string", "null"], "format": "date"},
        "flag": {"type": ["boolean", "null"]},
        "obj": {"type": ["object", "null"]},
        "arr": {"type": ["array", "null"]},
        "mixed": {"type": ["string", "integer", "null"]},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
    },
}


def test_every_column_type_round_trips_and_what_oracle_refuses_is_quarantined(ora):
    good = {"id": "K-ü", "n_int": 10**37, "n_num": 12.5, "s_short": "ß" * 20,
            "s_plain": "€" * 1000, "s_long": "x" * 9000, "ts": "2024-01-05T10:11:12.123456Z",
            "d": "2024-02-29", "flag": True, "obj": {"a": [1, 2]}, "arr": [1, "b"],
            "mixed": 42, "mod_ts": ts(1)}
    refused = [
        {**good, "id": "too-big", "n_int": 10**38},          # ORA-01438
        {**good, "id": "", "n_int": 1},                       # '' is NULL: no key
        {**good, "id": "bad-ts", "ts": "next tuesday"},       # ORA-01843
        {**good, "id": "k" * 1001},                           # over the key width
    ]
    msgs = [{"type": "SCHEMA", "stream": "every", "key_properties": ["id"],
             "schema": EVERY_TYPE},
            *[{"type": "RECORD", "stream": "every", "record": r} for r in [good, *refused]]]
    with pytest.raises(TooManyRejects, match="4 record"):  # at the end, after loading
        ora.run(msgs, load_method="upsert", max_rejects=0)
    cols = ora.columns("EVERY")
    assert cols["ID"][:2] == ("VARCHAR2", 1000)
    assert cols["N_INT"][0] == "NUMBER" and cols["N_INT"][2:] == (38, 0)
    assert cols["N_NUM"][0] == "NUMBER" and cols["N_NUM"][2:] == (None, None)
    assert cols["S_SHORT"][:2] == ("VARCHAR2", 20)
    assert cols["S_PLAIN"][:2] == ("VARCHAR2", 4000)
    assert cols["S_LONG"][0] == "CLOB"
    assert cols["TS"][0] == "TIMESTAMP(6) WITH TIME ZONE"
    assert cols["D"][0] == "DATE"
    assert cols["FLAG"][0] == "NUMBER" and cols["FLAG"][2:] == (1, 0)
    assert cols["OBJ"][0] == cols["ARR"][0] == "CLOB"
    assert cols["MIXED"][:2] == ("VARCHAR2", 4000)
    row = ora.query(
        "SELECT ID, N_INT, TO_CHAR(N_NUM), S_SHORT, S_PLAIN, S_LONG, "
        "TO_CHAR(TS AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.FF6'), "
        "TO_CHAR(D, 'YYYY-MM-DD'), FLAG, OBJ, ARR, MIXED FROM {P}EVERY")
    assert row == [("K-ü", 10**37, "12.5", "ß" * 20, "€" * 1000, "x" * 9000,
                    "2024-01-05T10:11:12.123456", "2024-02-29", 1, '{"a":[1,2]}', '[1,"b"]',
                    "42")]
    rejects = dict(ora.query("SELECT RECORD_KEY, REASON FROM {P}EVERY_REJECTS"))
    assert len(rejects) == 4
    assert "NUMBER(38)" in rejects['["too-big"]']
    assert "Oracle stores '' as NULL" in rejects['[""]']
    assert "not a date-time" in rejects['["bad-ts"]']
    assert any("too long for ID" in r for r in rejects.values())
    audit = ora.query("SELECT INSERTED, REJECTED FROM {P}LOAD_AUDIT")
    assert audit == [(1, 4)]


def _with_code(length: int) -> dict:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["code"] = {"type": ["string", "null"], "maxLength": length}
    return schema


def test_schema_evolution_widens_then_moves_to_clob(ora):
    for i, length in enumerate((20, 200, 5000), start=1):
        ora.run([schema_msg(schema=_with_code(length)), rec(i, ts(i), code=str(i) * length)],
                load_method="upsert")
    assert ora.columns("ORDER_HDR")["CODE"][0] == "CLOB"
    assert "CODE__CLOB" not in ora.columns("ORDER_HDR")
    assert ora.query("SELECT ID, CODE FROM {P}ORDER_HDR ORDER BY ID") == [
        (1, "1" * 20), (2, "2" * 200), (3, "3" * 5000)]
    wider = _with_code(200)
    wider["properties"]["note"] = {"type": ["string", "null"]}
    ora.run([schema_msg(schema=wider), rec(4, ts(4), code="x", note="added")],
            load_method="upsert")
    assert ora.query("SELECT NOTE FROM {P}ORDER_HDR WHERE ID = 4") == [("added",)]


@pytest.mark.parametrize("stopped_after", ["add", "partial copy", "set unused"])
def test_an_interrupted_clob_move_is_finished_by_the_next_run(ora, stopped_after):
    ora.run([schema_msg(schema=_with_code(20)), *[rec(i, ts(1), code=f"v{i}")
                                                  for i in range(1, 6)]], load_method="upsert")
    # What the move had committed when it stopped (every DDL commits on its own).
    steps = ["ALTER TABLE {P}ORDER_HDR ADD (CODE__CLOB CLOB)"]
    if stopped_after == "partial copy":
        steps.append("UPDATE {P}ORDER_HDR SET CODE__CLOB = CODE WHERE ID <= 2")
    if stopped_after == "set unused":
        steps += ["UPDATE {P}ORDER_HDR SET CODE__CLOB = CODE",
                  "ALTER TABLE {P}ORDER_HDR SET UNUSED (CODE)"]
    ora.execute(*steps)
    # the next run — still with the old schema — finishes the move before loading
    ora.run([schema_msg(schema=_with_code(20)), rec(6, ts(2), code="v6")],
            load_method="upsert")
    cols = ora.columns("ORDER_HDR")
    assert cols["CODE"][0] == "CLOB" and "CODE__CLOB" not in cols
    assert ora.query("SELECT ID, CODE FROM {P}ORDER_HDR ORDER BY ID") == [
        (i, f"v{i}") for i in range(1, 7)]


def test_rejects_with_string_keys_keep_their_live_rows(ora):
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["id"] = {"type": "string", "maxLength": 30}
    rules = {"order_hdr": ["qty >= 0"]}

    def full(version, recs):
        return [schema_msg(schema=schema), marker(version),
                *[{"type": "RECORD", "stream": "order_hdr", "version": version, "record": r}
                  for r in recs], marker(version)]

    ora.run(full(V1, [{"id": k, "mod_ts": ts(1), "qty": 1} for k in ("A", "B", "C")]),
            business_rules=rules)
    ora.run(full(V2, [{"id": "A", "mod_ts": ts(2), "qty": 1},
                      {"id": "B", "mod_ts": ts(2), "qty": -1}]),
            business_rules=rules, max_rejects=1)
    live = dict(ora.query('SELECT ID, "_SDC_DELETED_AT" FROM {P}ORDER_HDR'))
    assert live["A"] is None and live["B"] is None  # B: rejected, still in WMS
    assert live["C"] is not None                    # C: absent from the snapshot
    assert ora.query("SELECT RECORD_KEY, KEY_1, TABLE_VERSION FROM {P}ORDER_HDR_REJECTS") == [
        ('["B"]', "B", V2)]


def test_hard_delete_removes_absent_rows(ora):
    ora.run(_full(V1, [1, 2, 3]))
    ora.run(_full(V2, [1]), hard_delete=True)
    assert ora.query("SELECT ID FROM {P}ORDER_HDR ORDER BY ID") == [(1,)]
    publish = ora.query("SELECT DELETED FROM {P}LOAD_AUDIT WHERE EVENT = 'publish' "
                        "AND TABLE_VERSION = :v", v=V2)
    assert publish == [(2,)]


def test_overwrite_replaces_the_table(ora):
    ora.run([schema_msg(), *[rec(i, ts(1)) for i in (1, 2, 3)]], load_method="overwrite")
    ora.run([schema_msg(), *[rec(i, ts(2)) for i in (2, 4)]], load_method="overwrite")
    assert ora.query("SELECT ID FROM {P}ORDER_HDR ORDER BY ID") == [(2,), (4,)]


@pytest.mark.skipif(not OPS_URL, reason="TARGET_ORACLE_TEST_OPS_URL not set: no ops user")
def test_default_target_schema_read_by_a_separate_ops_user(engine):
    from orchestrate.warehouse import Warehouse

    schema = os.environ.get("TARGET_ORACLE_TEST_SCHEMA")
    ora = LiveOracle(engine)
    ora.schema = schema or ora.login  # named explicitly, as staging and prod do
    ops = sa.create_engine(str(OPS_URL))
    try:
        with ops.connect() as conn:
            ops_user = str(conn.exec_driver_sql("SELECT USER FROM dual").scalar())
        assert ops_user.upper() != ora.owner, "the ops user must be a separate user"
        ora.run(_full(V1, [1, 2, 3]), pipeline_name="live-suite")
        ora.execute(*("GRANT SELECT ON {P}" + t + " TO " + ops_user
                      for t in ("ORDER_HDR", "LOAD_AUDIT")))
        wh = Warehouse(str(OPS_URL), table_prefix=ora.prefix, schema=ora.schema)
        try:
            assert wh.live_count(f"{ora.prefix}order_hdr") == 3
            assert wh.live_ids(f"{ora.prefix}order_hdr") == {"1", "2", "3"}
            runs = wh.audit_counts()
            streams = [s for per_run in runs.values() for s in per_run]
            assert [(s.stream, s.pipeline, s.published) for s in streams] == [
                ("order_hdr", "live-suite", True)]
        finally:
            wh.dispose()
        # the login schema of ops has none of it: what wms-ops read before defect 11's fix
        unqualified = Warehouse(str(OPS_URL), table_prefix=ora.prefix)
        try:
            assert unqualified.audit_counts() == {}
        finally:
            unqualified.dispose()
    finally:
        ops.dispose()
        ora.drop_all()


def test_wms_ops_lease_table(engine):
    from orchestrate.leases import LOCKS, LeaseLock, lease_schema

    schema = os.environ.get("TARGET_ORACLE_TEST_SCHEMA")
    table_schema = lease_schema(URL, URL, schema) if schema else None
    owner = (table_schema or LiveOracle(engine).login).upper()
    exists_sql = ("SELECT COUNT(*) FROM ALL_TABLES WHERE OWNER = :o "
                  "AND TABLE_NAME = 'WMS_OPS_LOCKS'")
    with engine.connect() as conn:
        existed = bool(conn.exec_driver_sql(exists_sql, {"o": owner}).scalar())
    key = f"live-suite-{uuid.uuid4().hex}"
    first = LeaseLock(str(URL), key, lease_seconds=60, schema=table_schema)
    second = LeaseLock(str(URL), key, lease_seconds=60, schema=table_schema)
    try:
        assert first.try_acquire({"host": "a"})
        assert not second.try_acquire({"host": "b"})
        assert second.holder() == {"host": "a"}
        assert first.renew()
        first.release()
        assert second.try_acquire({"host": "b"})
        assert not first.renew()  # no longer ours
        # an expired lease is taken over (compare-and-delete), never a live one
        expired = LeaseLock(str(URL), key + "-x", lease_seconds=-1, schema=table_schema)
        assert expired.try_acquire({"host": "gone"})
        taker = LeaseLock(str(URL), key + "-x", lease_seconds=60, schema=table_schema)
        assert taker.try_acquire({"host": "c"}) and taker.holder() == {"host": "c"}
        taker.release()
        expired.engine.dispose()
    finally:
        second.release()
        first.engine.dispose()
        with engine.begin() as conn:
            if not existed:
                conn.exec_driver_sql(f'DROP TABLE {owner}."{LOCKS.name.upper()}" PURGE')
            else:
                conn.exec_driver_sql(f"DELETE FROM {owner}.WMS_OPS_LOCKS "
                                     "WHERE LOCK_KEY LIKE :k", {"k": key + "%"})


def test_wms_ops_ops_db_tables(engine):
    """`ops_db_url` on a real Oracle: the tables made in the login's schema, two "hosts"
    sharing a pause and one alert; skipped when any ops table is already there (never
    touch a schema's real records), and the tables dropped afterwards."""
    from datetime import timedelta

    from orchestrate.alerts import sync_alerts
    from orchestrate.ops_tables import METADATA
    from orchestrate.opsdb import OpsDB
    from orchestrate.pauses import active_pause, pause
    from orchestrate.rules import Condition
    from orchestrate.timeutil import utcnow

    names = [t.name for t in METADATA.sorted_tables]
    if any(sa.inspect(engine).has_table(n) for n in names):
        pytest.skip("the login's schema already holds wms-ops tables")
    host_a, host_b = OpsDB(str(URL)), OpsDB(str(URL))
    try:
        now = utcnow()
        pause(host_a, "incremental_sync", "dev", now + timedelta(hours=1), "live test")
        assert active_pause(host_b, "incremental_sync", "dev", now)["reason"] == "live test"
        cond = Condition("dev", "full_sync", "failed", "CRITICAL", "é" * 5000)
        events = sync_alerts(host_a, "dev", [cond], now) + sync_alerts(host_b, "dev", [cond], now)
        assert [e.event for e in events] == ["open"]
    finally:
        host_a.close()
        host_b.close()
        with engine.begin() as conn:
            for name in reversed(names):
                if sa.inspect(conn).has_table(name):
                    conn.exec_driver_sql(f'DROP TABLE "{name.upper()}" PURGE')
