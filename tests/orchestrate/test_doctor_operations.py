"""The doctor's operations checks that run in-process: lease database, ops database, alert
channels and the test alert (state backend and schedules go through Meltano: see e2e)."""

from __future__ import annotations

from pathlib import Path

from doctor_helpers import settings
from receivers import WebhookReceiver

from orchestrate.doctor import operations


def cfg(tmp_path: Path, **ops: str):
    return settings(tmp_path, {}, **ops).ops


def test_lock_url_lease_table_is_created_and_the_probe_released(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'locks.db'}"
    c = operations.lease(cfg(tmp_path, lock_url=url))
    assert c.status == "ok" and "lease table ready" in c.found
    with sa.create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM wms_ops_locks").scalar() == 0


def test_unreachable_lock_url_fails_without_its_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'locks.db'}"
    c = operations.lease(cfg(tmp_path, lock_url=url))
    assert c.status == "fail" and "wms_ops_locks" in (c.fix or "")
    pg = "postgresql+psycopg://ops:Lock-Pw-7@127.0.0.1:1/ops"
    c = settings(tmp_path, {}, lock_url=pg).redact.check(operations.lease(cfg(tmp_path,
                                                                               lock_url=pg)))
    assert c.status == "fail" and "Lock-Pw-7" not in c.line()


def test_ops_db_writable_and_not(tmp_path: Path) -> None:
    assert operations.ops_db(cfg(tmp_path)).status == "ok"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    bad = operations.ops_db(cfg(tmp_path, ops_db_path=str(blocker / "ops.db")))
    assert bad.status == "fail" and "ops_db_path" in (bad.fix or "")


def test_ops_db_url_is_the_database_checked(tmp_path: Path) -> None:
    """With ops_db_url set, the doctor proves the shared database, not the local file, and an
    unreachable one fails naming ops_db_url without its password."""
    shared = tmp_path / "shared-ops.db"
    c = operations.ops_db(cfg(tmp_path, ops_db_url=f"sqlite:///{shared}"))
    assert c.status == "ok" and "shared-ops.db" in c.found and shared.exists()
    pg = "postgresql+psycopg://ops:Ops-Pw-9@127.0.0.1:1/ops"
    c = operations.ops_db(cfg(tmp_path, ops_db_url=pg))
    assert c.status == "fail" and "ops_db_url" in (c.fix or "")
    assert "Ops-Pw-9" not in c.line() and "127.0.0.1:1" in c.line()


def test_alert_channels_only_log_is_a_warning(tmp_path: Path) -> None:
    assert operations.channels(cfg(tmp_path)).status == "warning"
    c = operations.channels(cfg(tmp_path, webhook_url="http://127.0.0.1:1/x"))
    assert c.status == "ok" and "webhook" in c.found and "127.0.0.1" not in c.found


def test_send_test_alert_reaches_the_webhook_and_reports_a_broken_one(tmp_path: Path) -> None:
    hook = WebhookReceiver()
    try:
        sent = list(operations.send_test_alert(cfg(tmp_path, webhook_url=hook.url)))
        assert {c.name: c.status for c in sent} == {"alerts.log": "ok", "alerts.webhook": "ok"}
        assert "test alert" in hook.bodies[0]["text"]
        hook.status = 500
        s = settings(tmp_path, {}, webhook_url=hook.url + "?token=Hook-Secret-1")
        broken = [s.redact.check(c) for c in operations.send_test_alert(s.ops)]
        web = next(c for c in broken if c.name == "alerts.webhook")
        assert web.status == "fail" and "500" in web.found
        assert "Hook-Secret-1" not in web.line()
    finally:
        hook.close()


def test_a_missing_schedule_is_named_with_the_command_to_add_it(tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text(
        "schedules:\n- name: full-sync-weekly\n  interval: '@weekly'\n  job: full_sync\n")
    c = operations.schedules("/bin/false", cfg(tmp_path))  # Meltano fails: read the yaml
    assert c.status == "fail" and "incremental_sync" in c.found
    assert "full-sync-weekly" in c.found and "meltano schedule add" in (c.fix or "")
