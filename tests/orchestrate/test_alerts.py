"""Thresholds raise each alert once, recover once, and reach every channel."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from receivers import SmtpReceiver, TestCA, WebhookReceiver

from orchestrate.alerts import open_alerts, run_check
from orchestrate.channels import AlertEvent, build_mail


@pytest.fixture
def webhook():
    r = WebhookReceiver()
    yield r
    r.close()


def test_long_run_warns_once_then_recovers(project, now, webhook, caplog):
    caplog.set_level(logging.INFO, logger="wms_ops")
    # test-sized threshold: 0.5 minute for incremental runs
    cfg = project.config(incremental_sync_warning_minutes=0.5, webhook_url=webhook.url)
    ops = project.ops(cfg)
    project.add_run("incremental_sync", now - timedelta(minutes=2), now - timedelta(seconds=30))
    first = run_check(cfg, ops)
    assert [(e.event, e.severity, e.rule) for e in first.events] == [
        ("open", "WARNING", "duration")]
    assert run_check(cfg, ops).events == []  # still open: no repeat
    assert run_check(cfg, ops).events == []
    project.add_run("incremental_sync", now - timedelta(seconds=20), now - timedelta(seconds=10))
    recovered = run_check(cfg, ops)
    assert [(e.event, e.rule) for e in recovered.events] == [("recovery", "duration")]
    assert run_check(cfg, ops).events == []
    texts = [b["text"] for b in webhook.bodies]
    assert len(texts) == 2
    assert texts[0].startswith("[WARNING] wms-ops dev/incremental_sync duration: run ")
    assert "took 1m 30s (threshold 30s)" in texts[0]
    assert texts[1].startswith("[RECOVERED] wms-ops dev/incremental_sync duration: cleared")
    assert webhook.bodies[0]["wms_ops"]["severity"] == "WARNING"
    assert "[WARNING] wms-ops dev/incremental_sync duration" in caplog.text
    assert ops.query("SELECT COUNT(*) FROM notifications WHERE channel='webhook' AND ok=1")[0][0] \
        == 2


def test_running_run_over_threshold_warns(project, now):
    cfg = project.config(full_sync_warning_minutes=1)
    project.add_run("full_sync", now - timedelta(minutes=3), None, status="RUNNING",
                    heartbeat=now)
    [cond] = run_check(cfg, project.ops(cfg)).conditions
    assert cond.rule == "duration" and "has been running for" in cond.message


def test_failed_run_is_critical_until_a_success(project, now):
    cfg = project.config()
    ops = project.ops(cfg)
    project.add_run("full_sync", now - timedelta(minutes=10), now - timedelta(minutes=9),
                    status="FAIL", error="Loader failed")
    events = run_check(cfg, ops).events
    assert [(e.severity, e.rule) for e in events] == [("CRITICAL", "failed")]
    assert "Loader failed" in events[0].message
    project.add_run("full_sync", now - timedelta(minutes=5), now - timedelta(minutes=4))
    assert [e.event for e in run_check(cfg, ops).events] == ["recovery"]
    assert open_alerts(ops, "dev") == []


def test_staleness_is_critical(project, now):
    cfg = project.config(incremental_sync_max_age_minutes=120, freshness_grace_minutes=30)
    ops = project.ops(cfg)
    project.add_run("incremental_sync", now - timedelta(hours=3),
                    now - timedelta(hours=2, minutes=40))
    project.add_run("full_sync", now - timedelta(days=9),
                    now - timedelta(days=9) + timedelta(hours=1))
    events = {(e.pipeline, e.rule): e for e in run_check(cfg, ops).events}
    assert set(events) == {("incremental_sync", "freshness"), ("full_sync", "freshness")}
    assert all(e.severity == "CRITICAL" for e in events.values())
    assert "limit 2h 00m + 30m 00s grace" in events["incremental_sync", "freshness"].message
    # within the grace: no alert
    cfg2 = project.config(incremental_sync_max_age_minutes=120, freshness_grace_minutes=45)
    conds = run_check(cfg2, ops).conditions
    assert ("incremental_sync", "freshness") not in {(c.pipeline, c.rule) for c in conds}


def test_paused_pipeline_is_not_stale(project, now):
    from orchestrate.pauses import pause

    cfg = project.config()
    ops = project.ops(cfg)
    project.add_run("incremental_sync", now - timedelta(hours=5),
                    now - timedelta(hours=4, minutes=55))
    pause(ops, "incremental_sync", "*", None, "ERP migration")
    assert run_check(cfg, ops).conditions == []


def test_reject_and_delete_shares(project, now):
    cfg = project.config(reject_share_critical=0.1, delete_share_critical=0.2)
    ops = project.ops(cfg)
    rid = project.add_run("full_sync", now - timedelta(minutes=10), now - timedelta(minutes=5))
    project.add_audit(rid, "full_sync", "order_hdr", inserted=80, rejected=20)
    project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=50,
                      unchanged=30, deleted=40)
    project.add_audit(rid, "full_sync", "item", inserted=100, rejected=1)
    rules = sorted(c.rule for c in run_check(cfg, ops).conditions)
    assert rules == ["deletes:order_hdr", "rejects:order_hdr"]


def test_broken_channel_does_not_hide_others(project, now, caplog):
    dead = WebhookReceiver(status=500)
    smtp = SmtpReceiver()
    try:
        cfg = project.config(webhook_url=dead.url, smtp_host="127.0.0.1", smtp_port=smtp.port,
                             smtp_to=["ops@example.com", "dba@example.com"],
                             smtp_from="wms-ops@example.com")
        ops = project.ops(cfg)
        project.add_run("incremental_sync", now - timedelta(minutes=3), now,
                        status="FAIL", error="boom")
        result = run_check(cfg, ops)
    finally:
        dead.close()
        smtp.close()
    [ev] = result.events
    assert result.failures[ev.alert_id]["webhook"].startswith("HTTPError")
    assert result.failures[ev.alert_id]["smtp"] is None
    assert len(dead.bodies) == 1  # it was tried
    [mail] = smtp.messages
    assert len(mail["rcpt"]) == 2
    assert "Subject: [CRITICAL] wms-ops dev/incremental_sync failed" in mail["data"]
    assert "alert channel webhook failed" in caplog.text


def test_mail_building():
    cfg_like = type("C", (), {"smtp_from": "a@b", "smtp_to": ["c@d"]})()
    msg = build_mail(cfg_like, AlertEvent("recovery", "prod", "full_sync", "freshness",
                                          "CRITICAL", "cleared"))
    assert msg["Subject"] == "[RECOVERED] wms-ops prod/full_sync freshness: cleared"
    assert msg["To"] == "c@d"


@pytest.mark.parametrize("trusted", [True, False], ids=["our-ca", "stranger-ca"])
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_mail_over_tls_verifies_the_relay(project, now, tmp_path, mode, trusted):
    """STARTTLS and SMTPS reach a relay whose certificate comes from `smtp_ca_file`; the login
    happens only inside TLS. A relay the CA file does not vouch for gets nothing: before,
    SMTPS accepted any certificate and would have sent the password to whoever answered."""
    (tmp_path / "relay").mkdir()
    (tmp_path / "other").mkdir()
    relay_ca, other_ca = TestCA(tmp_path / "relay"), TestCA(tmp_path / "other")
    smtp = SmtpReceiver(tls=mode, certs=relay_ca)
    tls = {"smtp_starttls": "true"} if mode == "starttls" else {"smtp_ssl": "true"}
    cfg = project.config(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_to=["ops@example.com"],
                         smtp_username="alerts", smtp_password="smtp-pw-123", **tls,
                         smtp_ca_file=str((relay_ca if trusted else other_ca).ca_file))
    project.add_run("incremental_sync", now - timedelta(minutes=3), now, status="FAIL",
                    error="boom")
    try:
        result = run_check(cfg, project.ops(cfg))
    finally:
        smtp.close()
    [ev] = result.events
    error = result.failures.get(ev.alert_id, {}).get("smtp")
    if trusted:
        assert error is None
        [mail] = smtp.messages
        assert mail["tls"] and "[CRITICAL]" in mail["data"]
        assert ("AUTH", True) in smtp.log and ("AUTH", False) not in smtp.log
    else:
        assert "CERTIFICATE_VERIFY_FAILED" in (error or "")
        assert smtp.messages == [] and "AUTH" not in [verb for verb, _ in smtp.log]
