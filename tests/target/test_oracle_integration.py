"""Against a real Oracle: set TARGET_ORACLE_TEST_URL=oracle+oracledb://user:pw@host/?service_name=…"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from .conftest import V1, V2, marker, rec, schema_msg, ts

URL = os.environ.get("TARGET_ORACLE_TEST_URL")
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not URL, reason="TARGET_ORACLE_TEST_URL not set: no Oracle to test"),
]


class _OracleWarehouse:
    def __init__(self) -> None:
        self.prefix = f"T{uuid.uuid4().hex[:6].upper()}_"

    def run(self, messages, **config):
        import contextlib
        import io
        import json

        from target_oracle.target import TargetOracle

        target = TargetOracle(config={"sqlalchemy_url": URL, "table_prefix": self.prefix,
                                      **config})
        with contextlib.redirect_stdout(io.StringIO()):
            target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))

    def query(self, sql):
        engine = sa.create_engine(URL)
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql.replace("P_", self.prefix)).fetchall()


def test_upsert_and_publish_on_oracle():
    wh = _OracleWarehouse()
    wh.run([schema_msg(), rec(1, ts(5), code="new")], load_method="upsert")
    wh.run([schema_msg(), rec(1, ts(3), code="stale"), rec(2, ts(1), code="b")],
           load_method="upsert")
    assert wh.query("SELECT ID, CODE FROM P_ORDER_HDR ORDER BY ID") == [(1, "new"), (2, "b")]
    wh.run([schema_msg(), marker(V1), rec(1, ts(6), version=V1), marker(V1)])
    wh.run([schema_msg(), marker(V2), rec(1, ts(6), version=V2), marker(V2)],
           use_direct_path=True)
    deleted = wh.query('SELECT ID FROM P_ORDER_HDR WHERE "_SDC_DELETED_AT" IS NOT NULL')
    assert deleted == [(2,)]
    assert wh.query("SELECT COUNT(*) FROM P_LOAD_AUDIT")[0][0] >= 4
