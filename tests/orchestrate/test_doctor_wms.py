"""The doctor's WMS checks against the simulator: each failure named apart, with its fix."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from doctor_helpers import by_name, failures, run, settings, tap_settings

from orchestrate.doctor.report import Check, exit_code
from orchestrate.doctor.wms import skew_check
from wms_simulator.testing import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(scale=1500, seed=5) as s:
        yield s


def wms_checks(tmp_path: Path, tap: dict) -> dict[str, Check]:
    from orchestrate.doctor.wms import WmsDoctor

    doc = WmsDoctor(settings(tmp_path, tap))
    return by_name(list(doc.checks()))


def test_healthy_tenant_passes_every_wms_check(sim: SimulatorHandle, tmp_path: Path) -> None:
    checks = wms_checks(tmp_path, tap_settings(sim))
    assert all(c.status == "ok" for c in checks.values()), checks
    assert "order_dtl" in checks["wms.entity.order_dtl"].found
    assert checks["wms.latency.order_dtl"].found.startswith("one-row page")


def test_wrong_password_is_an_auth_failure_naming_the_user(sim: SimulatorHandle,
                                                           tmp_path: Path) -> None:
    checks = wms_checks(tmp_path, tap_settings(sim, password="not-the-password"))
    auth = checks["wms.auth"]
    assert auth.status == "fail" and "401" in auth.found and sim.username in auth.found
    assert "password" in (auth.fix or "")
    assert "wms.entity.allocation" not in checks  # nothing after a refused login


def test_base_url_without_environment_says_so(sim: SimulatorHandle, tmp_path: Path) -> None:
    wrong = sim.base_url.rsplit("/", 1)[0] + "/acme_prod"
    checks = wms_checks(tmp_path, tap_settings(sim, base_url=wrong))
    path = checks["wms.path"]
    assert path.status == "fail" and "404" in path.found
    assert "base_url should end with the environment" in (path.fix or "")
    assert checks["wms.reachability"].status == "ok"


def test_unknown_entity_is_named_with_close_matches(sim: SimulatorHandle, tmp_path: Path) -> None:
    checks = wms_checks(tmp_path, tap_settings(sim, entities=["order_hrd", "allocation"]))
    bad = checks["wms.entity.order_hrd"]
    assert bad.status == "fail" and "order_hdr" in bad.found and "order_hrd" in bad.found
    assert checks["wms.entity.allocation"].status == "ok"


def test_entity_in_catalogue_without_rows_is_a_warning(sim: SimulatorHandle,
                                                       tmp_path: Path) -> None:
    checks = wms_checks(tmp_path, tap_settings(sim, entities=["appointment"]))
    c = checks["wms.entity.appointment"]
    assert c.status == "warning" and "empty, or not readable by this user" in c.found


def test_connection_refused_is_named(sim: SimulatorHandle, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    checks = wms_checks(tmp_path, tap_settings(sim, base_url=f"http://127.0.0.1:{port}/dev"))
    assert failures(list(checks.values())) == ["wms.reachability.refused"]
    assert str(port) in checks["wms.reachability.refused"].found


def test_tls_failure_is_named(sim: SimulatorHandle, tmp_path: Path) -> None:
    """https to a server that speaks plain HTTP: the handshake fails."""
    tls_url = sim.base_url.replace("http://", "https://")
    checks = wms_checks(tmp_path, tap_settings(sim, base_url=tls_url))
    assert failures(list(checks.values())) == ["wms.reachability.tls"]
    assert "REQUESTS_CA_BUNDLE" in (checks["wms.reachability.tls"].fix or "")


def test_dns_failure_is_named(sim: SimulatorHandle, tmp_path: Path) -> None:
    checks = wms_checks(tmp_path, tap_settings(sim, base_url="http://no-such-tenant.invalid/x"))
    assert failures(list(checks.values())) == ["wms.reachability.dns"]
    assert "no-such-tenant.invalid" in checks["wms.reachability.dns"].found


def test_oauth2_refused_and_accepted(sim: SimulatorHandle, tmp_path: Path) -> None:
    oauth = {"auth_method": "oauth2", "oauth_token_url": sim.token_url,
             "oauth_client_id": sim.client_id, "oauth_scope": "urn:x"}
    refused = wms_checks(tmp_path, tap_settings(sim, **oauth, oauth_client_secret="wrong-one"))
    assert refused["wms.auth"].status == "fail"
    assert "token request" in refused["wms.auth"].found and "401" in refused["wms.auth"].found
    good = wms_checks(tmp_path, tap_settings(sim, **oauth, oauth_client_secret=sim.client_secret))
    assert good["wms.auth.token"].status == "ok" and good["wms.auth"].status == "ok"


def test_clock_skew_over_a_minute_is_a_warning() -> None:
    import time
    from email.utils import formatdate

    now = time.time()
    assert skew_check(formatdate(now, usegmt=True), now, now).status == "ok"
    late = skew_check(formatdate(now - 300, usegmt=True), now, now)
    assert late.status == "warning" and "ahead of the WMS" in late.found


def test_no_secret_in_any_line(sim: SimulatorHandle, tmp_path: Path) -> None:
    s = settings(tmp_path, tap_settings(sim, password="S3cret-pass"),
                 webhook_url="http://127.0.0.1:9/hook-secret-token")
    checks = run(s)
    text = "\n".join(c.line() for c in checks)
    assert "S3cret-pass" not in text and "hook-secret-token" not in text
    assert exit_code(checks) == 1  # the wrong password


def test_sample_record_with_fields_describe_lacks_is_a_warning(tmp_path: Path) -> None:
    from tests.tap.sim_edits import patch_records

    with running_simulator(scale=300, seed=3) as s:
        ids = [int(r["id"]) for r, _ in zip(s.truth("order_hdr"), range(3), strict=False)]
        patch_records(s, "order_hdr", ids, lambda r: {**r, "carrier_note_2027": "new"})
        checks = wms_checks(tmp_path, tap_settings(s, entities=["order_hdr"]))
    c = checks["wms.entity.order_hdr"]
    assert c.status == "warning" and "carrier_note_2027" in c.found


def test_wms_clock_off_by_five_minutes_is_a_warning(tmp_path: Path) -> None:
    with running_simulator(scale=100, seed=3) as s:
        s.app.date_offset = -300
        checks = wms_checks(tmp_path, tap_settings(s, entities=["order_hdr"]))
    clock = checks["wms.clock"]
    assert clock.status == "warning" and "ahead of the WMS" in clock.found
    assert "NTP" in (clock.fix or "")


def test_a_refused_full_page_is_a_latency_warning(tmp_path: Path) -> None:
    with running_simulator(scale=300, seed=3) as s:
        s.set_faults(sequence=["ok", "503"], kinds=["list"])  # the one-row page, the full one
        checks = wms_checks(tmp_path, tap_settings(s, entities=["order_hdr"]))
    lat = checks["wms.latency.order_hdr"]
    assert lat.status == "warning" and "HTTP 503" in lat.found and "page_size" in (lat.fix or "")


def test_a_dropped_connection_mid_check_is_a_named_failure(tmp_path: Path) -> None:
    with running_simulator(scale=300, seed=3) as s:
        s.set_faults(sequence=["drop"], kinds=["describe"])
        checks = wms_checks(tmp_path, tap_settings(s, entities=["order_hdr", "allocation"]))
    assert checks["wms.entity.order_hdr"].status == "fail"
    assert checks["wms.entity.allocation"].status == "ok"  # the next entity is still checked


def test_a_maintenance_page_instead_of_a_list_fails_that_entity_only(sim: SimulatorHandle,
                                                                     tmp_path: Path) -> None:
    """A 200 HTML page (a maintenance page, a proxy) is an answer from outside like any other:
    named for what it is, on the entity it came for, and the next entity is still checked."""
    sim.set_hostile(html_answers=1)
    try:
        checks = wms_checks(tmp_path, tap_settings(sim, entities=["allocation", "order_hdr"]))
    finally:
        sim.set_hostile()
    bad = checks["wms.entity.allocation"]
    assert bad.status == "fail" and "not a JSON page" in bad.found
    assert checks["wms.entity.order_hdr"].status == "ok"
