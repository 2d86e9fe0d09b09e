"""The emulator's grants: privileges and quota refused as Oracle refuses them, and a statement
whose table it cannot tell is a gap, not a guess."""

from __future__ import annotations

from pathlib import Path

import oracledb
import pytest
import sqlalchemy as sa

from tests import oracle_mode
from tests.oracle_mode.translate import EmulatorGap


def engine(tmp_path: Path, **server: object) -> sa.Engine:
    path = str(tmp_path / "g.db")
    oracle_mode.server(path, **server)
    return sa.create_engine(oracle_mode.oracle_url(path))


def ora(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value.orig).splitlines()[0]


def test_create_table_needs_create_table(tmp_path: Path) -> None:
    with engine(tmp_path, privileges=("CREATE SESSION",)).connect() as conn, \
            pytest.raises(sa.exc.DatabaseError) as exc:
        conn.exec_driver_sql("CREATE TABLE T (ID NUMBER(19))")
    assert ora(exc).startswith("ORA-01031")


def test_quota_is_needed_at_the_first_row_not_at_create(tmp_path: Path) -> None:
    with engine(tmp_path, privileges=("CREATE SESSION", "CREATE TABLE")).connect() as conn:
        conn.exec_driver_sql("CREATE TABLE T (ID NUMBER(19))")
        conn.exec_driver_sql("CREATE GLOBAL TEMPORARY TABLE G (ID NUMBER(19)) "
                             "ON COMMIT DELETE ROWS")
        conn.exec_driver_sql("INSERT INTO G (ID) VALUES (1)")  # temporary tablespace
        conn.commit()
        with pytest.raises(sa.exc.DatabaseError) as exc:
            conn.exec_driver_sql("INSERT INTO T (ID) VALUES (1)")
        assert ora(exc) == "ORA-01950: no privileges on tablespace 'USERS'"
        conn.rollback()
        raw = conn.connection.dbapi_connection
        with pytest.raises(oracledb.DatabaseError, match="ORA-01950"):
            raw.direct_path_load("LOADER", "T", ["ID"], [[1]])


def test_a_quota_lets_rows_in(tmp_path: Path) -> None:
    with engine(tmp_path, privileges=("CREATE SESSION", "CREATE TABLE"),
                quotas={"LOADER": -1}).connect() as conn:
        conn.exec_driver_sql("CREATE TABLE T (ID NUMBER(19))")
        conn.exec_driver_sql("INSERT INTO T (ID) VALUES (1)")
        conn.commit()
        assert conn.exec_driver_sql("SELECT MAX_BYTES FROM USER_TS_QUOTAS").scalar() == -1


def test_another_schema_needs_the_any_privileges(tmp_path: Path) -> None:
    eng = engine(tmp_path, schemas=("DW",),
                 privileges=("CREATE SESSION", "CREATE TABLE", "UNLIMITED TABLESPACE"))
    with eng.connect() as conn, pytest.raises(sa.exc.DatabaseError) as exc:
        conn.exec_driver_sql("CREATE TABLE DW.T (ID NUMBER(19))")
    assert ora(exc).startswith("ORA-01031")


def test_v_parameter_without_catalog_role_is_ora_00942(tmp_path: Path) -> None:
    with engine(tmp_path, catalog_views=False).connect() as conn, \
            pytest.raises(sa.exc.DatabaseError) as exc:
        conn.exec_driver_sql("SELECT VALUE FROM V$PARAMETER WHERE NAME = 'max_string_size'")
    assert ora(exc).startswith("ORA-00942")


def test_an_insert_whose_table_it_cannot_tell_is_a_gap(tmp_path: Path) -> None:
    with engine(tmp_path, privileges=("CREATE SESSION", "CREATE TABLE")).connect() as conn:
        conn.exec_driver_sql("CREATE TABLE T (ID NUMBER(19))")
        with pytest.raises(EmulatorGap):
            conn.exec_driver_sql("INSERT ALL INTO T (ID) VALUES (1) SELECT * FROM DUAL")


def test_default_server_grants_everything_as_before(tmp_path: Path) -> None:
    with engine(tmp_path).connect() as conn:
        privs = {r[0] for r in conn.exec_driver_sql("SELECT PRIVILEGE FROM SESSION_PRIVS")}
        assert {"CREATE TABLE", "UNLIMITED TABLESPACE"} <= privs
        conn.exec_driver_sql("CREATE TABLE T (ID NUMBER(19))")
        conn.exec_driver_sql("INSERT INTO T (ID) VALUES (1)")
        conn.commit()
