"""Alert channels: the log (always), a webhook and SMTP mail.

Each channel is tried on its own; a failure is logged and reported back, and never stops the
other channels (a dead mail relay must not hide the Slack message, and vice versa).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests

from orchestrate.config import OpsConfig

log = logging.getLogger("wms_ops.alerts")


@dataclass(frozen=True)
class AlertEvent:
    """Something to tell people: an alert opened, escalated or recovered."""

    event: str  # open / escalate / recovery
    environment: str
    pipeline: str
    rule: str
    severity: str
    message: str
    alert_id: int = 0

    @property
    def text(self) -> str:
        """One line for chat and the log."""
        label = "RECOVERED" if self.event == "recovery" else self.severity
        return (f"[{label}] wms-ops {self.environment}/{self.pipeline} {self.rule}: "
                f"{self.message}")

    def payload(self) -> dict[str, Any]:
        """Webhook body: `text` is what Slack and Teams incoming webhooks display."""
        return {
            "text": self.text,
            "wms_ops": {
                "event": self.event, "environment": self.environment,
                "pipeline": self.pipeline, "rule": self.rule,
                "severity": self.severity, "message": self.message,
            },
        }


def send_log(cfg: OpsConfig, ev: AlertEvent) -> None:
    """Always on: WARNING/CRITICAL at those levels, recoveries as INFO."""
    level = {"WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}.get(ev.severity)
    log.log(logging.INFO if ev.event == "recovery" else (level or logging.ERROR), ev.text)


def send_webhook(cfg: OpsConfig, ev: AlertEvent) -> None:
    """JSON POST; any non-2xx answer counts as a failure."""
    assert cfg.webhook_url
    resp = requests.post(cfg.webhook_url, json=ev.payload(), timeout=cfg.webhook_timeout_seconds)
    resp.raise_for_status()


def build_mail(cfg: OpsConfig, ev: AlertEvent) -> EmailMessage:
    """The mail for one event (separate so it can be tested without a server)."""
    msg = EmailMessage()
    msg["Subject"] = ev.text[:200]
    msg["From"] = cfg.smtp_from
    msg["To"] = ", ".join(cfg.smtp_to)
    msg.set_content(
        f"{ev.text}\n\nenvironment: {ev.environment}\npipeline: {ev.pipeline}\n"
        f"rule: {ev.rule}\nseverity: {ev.severity}\nevent: {ev.event}\n\n{ev.message}\n"
    )
    return msg


def tls_context(cfg: OpsConfig) -> ssl.SSLContext:
    """Verify the relay's certificate and host name, against `smtp_ca_file` when given (an
    internal relay with a private CA) or the system's CAs. `SMTP_SSL` without a context would
    accept any certificate, i.e. hand the SMTP password to whoever answers."""
    return ssl.create_default_context(cafile=cfg.smtp_ca_file or None)


def send_smtp(cfg: OpsConfig, ev: AlertEvent) -> None:
    """Plain SMTP, SMTPS or STARTTLS, with optional login."""
    assert cfg.smtp_host
    timeout = cfg.smtp_timeout_seconds
    smtp: smtplib.SMTP
    if cfg.smtp_ssl:
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=timeout,
                                context=tls_context(cfg))
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout)
    with smtp:
        if cfg.smtp_starttls and not cfg.smtp_ssl:
            smtp.starttls(context=tls_context(cfg))
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password or "")
        smtp.send_message(build_mail(cfg, ev))


def dispatch(cfg: OpsConfig, ev: AlertEvent) -> dict[str, str | None]:
    """Send one event on every configured channel; returns channel -> error (None = sent)."""
    channels: dict[str, Any] = {"log": send_log}
    if cfg.webhook_url:
        channels["webhook"] = send_webhook
    if cfg.smtp_host and cfg.smtp_to:
        channels["smtp"] = send_smtp
    results: dict[str, str | None] = {}
    for name, send in channels.items():
        try:
            send(cfg, ev)
            results[name] = None
        except Exception as exc:  # one broken channel must not hide the others
            results[name] = f"{type(exc).__name__}: {exc}"
            log.error("alert channel %s failed: %s", name, results[name])
    return results
