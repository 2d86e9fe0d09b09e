"""`meltano invoke wms-ops doctor` end to end: the real Meltano reads the pipeline's tap and
target settings, the doctor checks the simulator and the warehouse, exit 0 or 1."""

from __future__ import annotations

import json
import socket

import pytest

pytestmark = pytest.mark.e2e


def doctor(project, *args: str, **env: str):
    project.env.update(env)
    return project.meltano("invoke", "wms-ops", "doctor", *args, check=False)


def lines(result, mark: str) -> list[str]:
    return [ln for ln in result.stdout.splitlines() if ln.startswith(mark)]


def test_healthy_project_exits_0_with_a_projection(project) -> None:
    result = doctor(project)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert lines(result, "✗") == []
    full = next(ln for ln in result.stdout.splitlines() if "projection.full:" in ln)
    assert "at 4 in flight (2 h warning)" in full and "at 8" in full
    for name in ("wms.auth", "warehouse.privileges", "operations.state_backend",
                 "operations.schedules", "operations.ops_db"):
        assert any(f"✔ {name}:" in ln for ln in result.stdout.splitlines()), name
    as_json = doctor(project, "--format", "json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and report["ok"] and report["pipeline"] == "full_sync"
    assert "wms_dev_password" not in as_json.stdout + as_json.stderr
    assert "wms_dev_password" not in result.stdout + result.stderr


def test_wrong_password_exits_1_naming_the_login(project) -> None:
    result = doctor(project, TAP_ORACLE_WMS_PASSWORD="Wrong-Pass-123")
    assert result.returncode == 1
    assert [ln.split(":")[0] for ln in lines(result, "✗")] == ["✗ wms.auth"]
    assert "401" in result.stdout and "wms_dev" in result.stdout
    assert "Wrong-Pass-123" not in result.stdout + result.stderr


def test_wrong_base_url_path_exits_1_with_the_hint(project, simulator) -> None:
    wrong = simulator.base_url.rsplit("/", 1)[0] + "/acme_prod"
    result = doctor(project, TAP_ORACLE_WMS_BASE_URL=wrong)
    assert result.returncode == 1
    (path,) = lines(result, "✗ wms.path")
    assert "base_url should end with the environment" in path


def test_unknown_entity_exits_1_with_close_matches(project) -> None:
    result = doctor(project, TAP_ORACLE_WMS_ENTITIES='["allocation", "order_hrd"]')
    assert result.returncode == 1
    (entity,) = lines(result, "✗")
    assert "wms.entity.order_hrd" in entity and "order_hdr" in entity
    assert any("✔ wms.entity.allocation" in ln for ln in result.stdout.splitlines())


def test_unreachable_warehouse_exits_1_naming_host_and_service(project) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"oracle+oracledb://loader:Tiger-Pw-99@127.0.0.1:{port}/?service_name=FREEPDB1"
    result = doctor(project, TARGET_ORACLE_SQLALCHEMY_URL=url)
    assert result.returncode == 1
    (conn,) = lines(result, "✗")
    assert "warehouse.connection" in conn and f"127.0.0.1:{port}/FREEPDB1" in conn
    assert "Tiger-Pw-99" not in result.stdout + result.stderr


def test_send_test_alert_reaches_the_webhook_and_keeps_its_url_secret(project) -> None:
    from tests.orchestrate.receivers import WebhookReceiver

    hook = WebhookReceiver()
    try:
        result = doctor(project, "--send-test-alert",
                        WMS_OPS_WEBHOOK_URL=hook.url + "?token=Hook-Tok-5")
    finally:
        hook.close()
    assert result.returncode == 0, result.stdout
    assert any("✔ operations.alerts.webhook: test alert sent" in ln
               for ln in result.stdout.splitlines())
    assert len(hook.bodies) == 1 and "test alert" in hook.bodies[0]["text"]
    assert "Hook-Tok-5" not in result.stdout + result.stderr
