"""The doctor's warehouse checks on the Oracle emulator (grants, quota, dictionary) and SQLite."""

from __future__ import annotations

import socket
from pathlib import Path

import sqlalchemy as sa
from doctor_helpers import by_name, settings

from orchestrate.doctor import warehouse
from tests import oracle_mode

MB = 2**20


def checks(tmp_path: Path, target: dict) -> dict:
    return by_name(list(warehouse.checks(settings(tmp_path, {}, target))))


def oracle(tmp_path: Path, user: str | None = None, **server: object) -> tuple[dict, object]:
    path = str(tmp_path / "wh.db")
    srv = oracle_mode.server(path, **server)
    return {"sqlalchemy_url": oracle_mode.oracle_url(path, user)}, srv


def scratch_left(target: dict) -> list:
    engine = sa.create_engine(target["sqlalchemy_url"])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT TABLE_NAME FROM ALL_TABLES WHERE TABLE_NAME LIKE 'WMS_DOCTOR%'").all()
    engine.dispose()
    return rows


def test_healthy_oracle_passes_and_leaves_no_scratch_object(tmp_path: Path) -> None:
    target, srv = oracle(tmp_path)
    found = checks(tmp_path, target)
    assert {k: c.status for k, c in found.items()} == {
        "warehouse.connection": "ok", "warehouse.version": "ok", "warehouse.schema": "ok",
        "warehouse.privileges": "ok", "warehouse.max_string_size": "ok",
        "warehouse.quota": "ok", "warehouse.driver": "ok"}
    assert "128 bytes" in found["warehouse.version"].found
    assert "as LOADER" in found["warehouse.connection"].found
    sql = "\n".join(srv.statements)
    assert "CREATE GLOBAL TEMPORARY TABLE" in sql and "CREATE INDEX" in sql and "INSERT" in sql
    assert scratch_left(target) == [] and srv.violations == []


def test_login_without_create_table_gets_ora_01031_and_the_grant(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, privileges=("CREATE SESSION", "UNLIMITED TABLESPACE"))
    p = checks(tmp_path, target)["warehouse.privileges"]
    assert p.status == "fail" and "ORA-01031" in p.found and "create a table" in p.found
    assert p.fix == "GRANT CREATE TABLE TO LOADER"


def test_no_quota_fails_at_the_first_row_and_the_table_is_dropped(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, privileges=("CREATE SESSION", "CREATE TABLE"))
    found = checks(tmp_path, target)
    p = found["warehouse.privileges"]
    assert p.status == "fail" and "ORA-01950" in p.found and "QUOTA UNLIMITED" in (p.fix or "")
    assert found["warehouse.quota"].status == "fail"
    assert found["warehouse.quota"].fix == "ALTER USER LOADER QUOTA UNLIMITED ON USERS"
    assert scratch_left(target) == []


def test_limited_quota_is_a_warning(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, privileges=("CREATE SESSION", "CREATE TABLE"),
                       quotas={"LOADER": 100 * MB})
    found = checks(tmp_path, target)
    assert found["warehouse.privileges"].status == "ok"
    q = found["warehouse.quota"]
    assert q.status == "warning" and "100 MB" in q.found


def test_unreadable_v_parameter_is_a_warning_naming_the_grant(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, catalog_views=False)
    m = checks(tmp_path, target)["warehouse.max_string_size"]
    assert m.status == "warning" and "ORA-00942" in m.found
    assert m.fix and "V_$PARAMETER" in m.fix


def test_extended_max_string_size_is_reported(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, max_string_bytes=32767)
    assert "EXTENDED" in checks(tmp_path, target)["warehouse.max_string_size"].found


def test_oracle_before_12_2_has_30_byte_identifiers(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, version="12.1.0.2.0")
    v = checks(tmp_path, target)["warehouse.version"]
    assert v.status == "warning" and "30 bytes" in v.found


def test_direct_path_with_an_old_driver_is_a_warning(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, driver_version="3.3.0")
    d = checks(tmp_path, {**target, "use_direct_path": True})["warehouse.driver"]
    assert d.status == "warning" and "3.3.0" in d.found
    ok = checks(tmp_path, {**target, "use_direct_path": False})["warehouse.driver"]
    assert ok.status == "ok"


def test_missing_target_schema_is_named(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path)
    s = checks(tmp_path, {**target, "default_target_schema": "wms_dw"})["warehouse.schema"]
    assert s.status == "fail" and "WMS_DW" in s.found


def test_other_schema_needs_the_any_privileges(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, schemas=("WMS_DW",),
                       privileges=("CREATE SESSION", "CREATE TABLE", "UNLIMITED TABLESPACE"))
    target["default_target_schema"] = "WMS_DW"
    p = checks(tmp_path, target)["warehouse.privileges"]
    assert p.status == "fail" and "ORA-01031" in p.found and "CREATE ANY TABLE" in (p.fix or "")


def test_other_schema_with_the_grants_passes(tmp_path: Path) -> None:
    target, _ = oracle(tmp_path, schemas=("WMS_DW",))
    found = checks(tmp_path, {**target, "default_target_schema": "WMS_DW"})
    assert found["warehouse.privileges"].status == "ok"
    assert "WMS_DW" in found["warehouse.privileges"].found


def test_unreachable_oracle_names_host_and_service_never_the_password(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = {"host": "127.0.0.1", "port": port, "service_name": "FREEPDB1",
              "username": "loader", "password": "Tiger-Pw-99"}
    c = checks(tmp_path, target)["warehouse.connection"]
    assert c.status == "fail" and f"127.0.0.1:{port}/FREEPDB1" in c.found
    assert "Tiger-Pw-99" not in c.line()


def test_sqlite_warehouse_proves_it_can_create_a_table(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "w.db").close()
    found = checks(tmp_path, {"sqlalchemy_url": f"sqlite:///{tmp_path / 'w.db'}"})
    assert found["warehouse.privileges"].status == "ok"


def test_sqlite_warehouse_not_made_yet_is_fine_and_left_alone(tmp_path: Path) -> None:
    """A fresh project (make demo, a first run) has no output/ folder: the target makes it,
    so the doctor must not fail there, nor create the file itself."""
    fresh = tmp_path / "output" / "warehouse.db"
    c = checks(tmp_path, {"sqlalchemy_url": f"sqlite:///{fresh}"})["warehouse.connection"]
    assert c.status == "ok" and "first run creates it" in c.found
    assert not fresh.parent.exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    bad = checks(tmp_path, {"sqlalchemy_url": f"sqlite:///{blocker / 'no' / 'w.db'}"})
    assert bad["warehouse.connection"].status == "fail"
