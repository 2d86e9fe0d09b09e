"""The driver-contract check itself: it must reject what python-oracledb rejects.

Each case is a statement the target sends (or a near miss of one) with the binds that
would go with it; the expected text is the driver's own (``oracledb.errors``).
"""

from __future__ import annotations

import oracledb
import pytest

from target_oracle import audit
from target_oracle.dialects import OracleDialect
from tests.oracle_mode import contract

D = OracleDialect()
COUNTED = audit.insert_counted_sql(
    D, "WMS_LOAD_AUDIT", D.count_changes("WMS_T_STG", "WMS_T", ["ID"], "MOD_TS"))
PARAMS = {"run_id": "r", "pipeline": "p", "stream": "s", "table_name": "T",
          "load_method": "upsert", "event": "batch", "table_version": None,
          "started_at": "x", "finished_at": "y", "inserted": 0, "updated": 0,
          "unchanged": 0, "deleted": 0, "rejected": 0}


def test_binds_are_found_outside_quotes_and_comments():
    sql = ("SELECT :a, ':b', q'[:c]', \"X:D\" /* :e */ FROM T -- :f\n"
           "WHERE T.X = :g AND T.Y = TO_TIMESTAMP_TZ(:h, 'HH24:MI')")
    assert contract.scan(sql).binds == ("A", "G", "H")


def test_extra_named_bind_is_dpy_4008():
    # Defect 1: the whole audit dict went to the counted audit insert.
    with pytest.raises(oracledb.DatabaseError,
                       match=r'DPY-4008: no bind placeholder named ":inserted"'):
        contract.check_execute(COUNTED, PARAMS)


def test_the_counted_audit_insert_gets_exactly_its_binds():
    contract.check_execute(COUNTED, audit.counted_binds(PARAMS))


def test_missing_named_bind_is_dpy_4010():
    params = audit.counted_binds(PARAMS)
    del params["finished_at"]
    with pytest.raises(oracledb.DatabaseError, match=r'DPY-4010: .*":FINISHED_AT"'):
        contract.check_execute(COUNTED, params)


def test_positional_row_width_is_dpy_4009():
    sql = "INSERT INTO T (A, B) VALUES (:c0, :c1)"
    contract.check_executemany(sql, [(1, 2), (3, 4)])
    with pytest.raises(oracledb.DatabaseError,
                       match="DPY-4009: 2 positional bind values are required but 3"):
        contract.check_executemany(sql, [(1, 2), (3, 4, 5)])


def test_long_binds_only_in_insert_values():
    sizes = [oracledb.DB_TYPE_NUMBER, oracledb.DB_TYPE_LONG]
    contract.check_executemany("INSERT INTO T (A, B) VALUES (:c0, :c1)", [(1, "x")],
                               input_sizes=sizes)
    with pytest.raises(oracledb.DatabaseError, match="ORA-00997"):
        contract.check_executemany("INSERT INTO T (A, B) SELECT :c0, :c1 FROM DUAL",
                                   [(1, "x")], input_sizes=sizes)
    with pytest.raises(contract.ContractViolation, match="declared 2 types for 3"):
        contract.check_executemany("INSERT INTO T (A, B, C) VALUES (:c0, :c1, :c2)",
                                   [(1, "x", 2)], input_sizes=sizes)


def test_identifier_limit_follows_the_server():
    sql = f"CREATE TABLE {'T' * 31} (A NUMBER)"
    contract.check_execute(sql, None, max_ident_bytes=128)
    with pytest.raises(oracledb.DatabaseError, match="ORA-00972"):
        contract.check_execute(sql, None, max_ident_bytes=30)


@pytest.mark.parametrize("value", [10**126, -int("1" * 41)])
def test_numbers_beyond_oracle_number_are_dpy_4003(value):
    contract.check_execute("SELECT :a FROM DUAL", {"a": 10**125})
    contract.check_execute("SELECT :a FROM DUAL", {"a": int("9" * 40)})
    with pytest.raises(oracledb.DatabaseError, match="DPY-4003"):
        contract.check_execute("SELECT :a FROM DUAL", {"a": value})


def test_statement_kinds():
    assert contract.kind("  CREATE GLOBAL TEMPORARY TABLE X (A NUMBER)") == "DDL"
    assert contract.kind("/* hint */ MERGE INTO X t USING Y s ON (1 = 1) ...") == "DML"
    assert contract.kind("SELECT 1 FROM DUAL") == "QUERY"
