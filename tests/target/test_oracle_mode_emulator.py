"""The Oracle emulator keeps Oracle's rules where SQLite's differ (else oracle-mode lies).

Each test sends statements of the target's shapes through an ``oracle+oracledb`` engine on
the emulator and checks the outcome Oracle gives: ``''`` is NULL, byte and precision
limits, DDL commits, GTT rows go at commit, MERGE's stable-set rule, the data dictionary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path

import oracledb
import pytest
import sqlalchemy as sa

from target_oracle.target import TargetOracle
from tests import oracle_mode
from tests.oracle_mode.contract import ContractViolation

from .conftest import V1, marker, rec, schema_msg, ts

TS = "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM'"


@pytest.fixture
def db(tmp_path: Path) -> sa.Connection:
    engine = sa.create_engine(oracle_mode.oracle_url(str(tmp_path / "o.db")))
    with engine.connect() as conn:
        with conn.begin():
            conn.exec_driver_sql(
                "CREATE TABLE T (ID NUMBER(38) NOT NULL, CODE VARCHAR2(5 CHAR), "
                "B VARCHAR2(4 BYTE), N NUMBER(3), TS TIMESTAMP(6) WITH TIME ZONE, "
                "CONSTRAINT T_PK PRIMARY KEY (ID))")
        yield conn
    engine.dispose()


def insert(conn: sa.Connection, *row: object) -> None:
    with conn.begin():
        conn.exec_driver_sql(
            f"INSERT INTO T (ID, CODE, B, N, TS) VALUES (:c0, :c1, :c2, :c3, "
            f"TO_TIMESTAMP_TZ(:c4, {TS}))", [row])


def scalar(conn: sa.Connection, sql: str) -> object:
    with conn.begin():
        return conn.exec_driver_sql(sql).scalar()


def oracle_code(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value.orig).split(":")[0]


def test_empty_string_is_null_and_a_null_key_is_ora_01400(db):
    insert(db, 1, "", None, None, None)
    assert scalar(db, "SELECT COUNT(*) FROM T WHERE CODE IS NULL") == 1
    with pytest.raises(sa.exc.IntegrityError) as exc:
        insert(db, "", "x", None, None, None)
    assert oracle_code(exc) == "ORA-01400"
    assert '"LOADER"."T"."ID"' in str(exc.value)


@pytest.mark.parametrize(("row", "code"), [
    ((1, "abcdef", None, None, None), "ORA-12899"),  # 6 characters into 5 CHAR
    ((1, None, "ééé", None, None), "ORA-12899"),  # 6 bytes into 4 BYTE
    ((1, None, None, 1000, None), "ORA-01438"),  # NUMBER(3)
    ((1, None, None, "many", None), "ORA-01722"),
    ((1, None, None, None, "2024-01-01"), "ORA-01861"),  # not the TO_TIMESTAMP_TZ format
])
def test_values_that_do_not_fit_fail_as_on_oracle(db, row, code):
    with pytest.raises(sa.exc.DatabaseError) as exc:
        insert(db, *row)
    assert oracle_code(exc) == code
    assert scalar(db, "SELECT COUNT(*) FROM T") == 0


def test_characters_not_bytes_for_char_columns(db):
    insert(db, 1, "ééééé", "abcd", 999, ts(1))
    with db.begin():
        row = db.exec_driver_sql("SELECT CODE, N, TS FROM T").one()
    # a TIMESTAMP WITH TIME ZONE comes back as python-oracledb thin gives it: naive
    assert tuple(row) == ("ééééé", 999, dt.datetime(2024, 1, 1))


def test_ddl_inside_a_transaction_with_dml_is_a_violation(db):
    with pytest.raises(ContractViolation, match="commits that transaction first"), db.begin():
        db.exec_driver_sql("DELETE FROM T")
        db.exec_driver_sql("ALTER TABLE T ADD (X NUMBER)")


def test_gtt_rows_go_at_commit_and_the_dictionary_keeps_oracle_types(db):
    with db.begin():
        db.exec_driver_sql("CREATE GLOBAL TEMPORARY TABLE S (ID NUMBER(38), CODE "
                           "VARCHAR2(5 CHAR)) ON COMMIT DELETE ROWS")
    with db.begin():
        db.exec_driver_sql("INSERT INTO S (ID, CODE) VALUES (:c0, :c1)", [(1, "a"), (1, "b")])
        assert db.exec_driver_sql("SELECT COUNT(*) FROM S").scalar() == 2
        # two source rows for one new key: the second insert violates the key …
        insert_sql = ("MERGE INTO T t USING S s ON (t.ID = s.ID) WHEN MATCHED THEN UPDATE "
                      "SET t.CODE = s.CODE WHEN NOT MATCHED THEN INSERT (ID, CODE) "
                      "VALUES (s.ID, s.CODE)")
        with pytest.raises(sa.exc.DatabaseError, match="ORA-00001"):
            db.exec_driver_sql(insert_sql)
    assert scalar(db, "SELECT COUNT(*) FROM S") == 0
    insert(db, 1, "old", None, None, None)
    # … and for one existing row Oracle's MERGE refuses an unstable set (ORA-30926)
    with pytest.raises(sa.exc.DatabaseError, match="ORA-30926"), db.begin():
        db.exec_driver_sql("INSERT INTO S (ID, CODE) VALUES (:c0, :c1)", [(1, "a"), (1, "b")])
        db.exec_driver_sql(insert_sql)
    with db.begin():
        rows = db.exec_driver_sql(
            "SELECT COLUMN_NAME, DATA_TYPE, CHAR_LENGTH, DATA_PRECISION FROM ALL_TAB_COLUMNS "
            "WHERE OWNER = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AND TABLE_NAME = :t "
            "ORDER BY COLUMN_ID", {"t": "T"}).fetchall()
    assert [tuple(r) for r in rows] == [
        ("ID", "NUMBER", 0, 38), ("CODE", "VARCHAR2", 5, None), ("B", "VARCHAR2", 4, None),
        ("N", "NUMBER", 0, 3), ("TS", "TIMESTAMP(6) WITH TIME ZONE", 0, None)]


def test_modify_keeps_data_and_refuses_what_oracle_refuses(db):
    insert(db, 1, "abcde", None, None, None)
    with db.begin():
        db.exec_driver_sql("ALTER TABLE T MODIFY (CODE VARCHAR2(50 CHAR))")
    insert(db, 2, "x" * 50, None, None, None)
    for ddl, code in (("ALTER TABLE T MODIFY (CODE CLOB)", "ORA-22858"),
                      ("ALTER TABLE T MODIFY (CODE VARCHAR2(10 CHAR))", "ORA-01441"),
                      ("ALTER TABLE T ADD (CODE NUMBER)", "ORA-01430")):
        with pytest.raises(sa.exc.DatabaseError, match=code), db.begin():
            db.exec_driver_sql(ddl)
    with db.begin():
        db.exec_driver_sql("ALTER TABLE T ADD (X VARCHAR2(3000 CHAR))")
        db.exec_driver_sql("CREATE INDEX T_IX ON T (CODE, X)")  # 200 + 4000 bytes: fits
    with pytest.raises(sa.exc.DatabaseError, match="ORA-01404"), db.begin():
        db.exec_driver_sql("ALTER TABLE T MODIFY (CODE VARCHAR2(4000 CHAR))")  # 8000: not


def test_extended_strings_make_a_wide_key_too_long_for_an_index(tmp_path):
    oracle_mode.server(str(tmp_path / "x.db"), max_string_bytes=32767)
    engine = sa.create_engine(oracle_mode.oracle_url(str(tmp_path / "x.db")))
    with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError, match="ORA-01450"):
        conn.exec_driver_sql("CREATE TABLE K (ID VARCHAR2(4000 CHAR), "
                             "CONSTRAINT K_PK PRIMARY KEY (ID))")
    engine.dispose()


def run_target(path: Path, messages: list[dict], **config: object) -> None:
    target = TargetOracle(config={"sqlalchemy_url": oracle_mode.oracle_url(str(path)),
                                  "table_prefix": "WMS_", **config})
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))


def test_a_server_older_than_12_2_gets_30_byte_names(tmp_path):
    path = tmp_path / "old.db"
    server = oracle_mode.server(str(path), version="12.1.0.2.0")
    stream = "a_stream_name_well_over_thirty_bytes_long"
    run_target(path, [schema_msg(stream), rec(1, ts(1), stream=stream, code="a")],
               load_method="upsert")
    tables = {r[0] for r in server_tables(path)}
    assert tables and all(len(t.encode()) <= 30 for t in tables)
    assert not server.violations


def server_tables(path: Path) -> list[tuple]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE '__ORA%'").fetchall()


def test_direct_path_snapshot_loads_and_publishes(tmp_path):
    path = tmp_path / "dp.db"
    server = oracle_mode.server(str(path))
    run_target(path, [schema_msg(), marker(V1), rec(1, ts(1), version=V1, code="a"),
                      rec(2, ts(1), version=V1, code="b"), marker(V1)], use_direct_path=True)
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT ID, CODE FROM WMS_ORDER_HDR ORDER BY ID").fetchall() == [
            (1, "a"), (2, "b")]
    assert not server.violations


def test_a_driver_before_3_4_loads_snapshots_without_direct_path(tmp_path):
    path = tmp_path / "old-driver.db"
    server = oracle_mode.server(str(path), driver_version="3.3.0")
    run_target(path, [schema_msg(), marker(V1), rec(1, ts(1), version=V1, code="a"),
                      marker(V1)], use_direct_path=True)
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT ID, CODE FROM WMS_ORDER_HDR").fetchall() == [(1, "a")]
    assert not server.violations


def test_driver_errors_surface_with_the_driver_class(db):
    with pytest.raises(sa.exc.DatabaseError) as exc:
        db.exec_driver_sql("SELECT COUNT(*) FROM T WHERE ID = :id", {"id": 1, "other": 2})
    assert isinstance(exc.value.orig, oracledb.DatabaseError)
    assert str(exc.value.orig).startswith('DPY-4008: no bind placeholder named ":other"')


def test_names_twice_fail_as_on_oracle(db):
    with pytest.raises(sa.exc.DatabaseError, match="ORA-00957"), db.begin():
        db.exec_driver_sql("INSERT INTO T (ID, CODE, ID) VALUES (:c0, :c1, :c2)", [(1, "a", 2)])
    with pytest.raises(sa.exc.DatabaseError, match="ORA-00918"), db.begin():
        db.exec_driver_sql("SELECT ID FROM (SELECT ID, CODE, ROW_NUMBER() OVER (ORDER BY ID) "
                           "AS CODE FROM T) WHERE CODE = 1")
    with pytest.raises(sa.exc.DatabaseError, match="ORA-00957"), db.begin():
        db.exec_driver_sql("CREATE TABLE U (A NUMBER, A NUMBER)")
