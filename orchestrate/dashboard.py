"""`wms-ops dashboard`: one static, self-contained HTML page (inline CSS and SVG, no scripts).

Built from the same history, rules and ops DB as `check`, so the page and the alerts agree. A view
per pipeline: recent runs against the warning threshold, records per entity over time, freshness
per entity, open alerts, and for the full sync the last reconciliation.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from orchestrate.alerts import open_alerts
from orchestrate.config import OpsConfig, Pipeline
from orchestrate.history import RunRecord, build_history, read_text
from orchestrate.meltano_runs import bookmarks_of, read_state
from orchestrate.opsdb import OpsDB
from orchestrate.progress import LiveRun, running_for
from orchestrate.reconcile import latest_reconciliation
from orchestrate.svg import OUTCOME_COLOR, duration_bars, line_chart
from orchestrate.timeutil import human_duration, utcnow

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f8fafc;
color:#0f172a}header{background:#0f172a;color:#f8fafc;padding:16px 24px}h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd5e1}main{padding:16px 24px;max-width:1100px}
section.pipeline{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:16px;
margin:16px 0}h2{margin-top:0}h3{margin:18px 0 6px;font-size:15px;color:#334155}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #e2e8f0}th{background:#f1f5f9}td.num{text-align:right}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.WARNING{background:#d97706}.CRITICAL{background:#dc2626}.ok{color:#16a34a}.bad{color:#dc2626}
.chart{max-width:100%;height:auto;background:#fff}.ct{font-size:13px;font-weight:600}
.ax,.lg{font-size:11px;fill:#475569}.thr{font-size:11px;fill:#dc2626}
nav a{color:#93c5fd;margin-right:12px}.muted{color:#64748b}
.bar{background:#e2e8f0;border-radius:4px;height:12px;max-width:480px}
.bar div{background:#2563eb;height:12px;border-radius:4px}.gone{color:#dc2626;font-weight:600}
"""


def _t(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def _n(value: object) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _alerts_html(alerts: list[dict]) -> str:
    if not alerts:
        return '<p class="ok">No open alerts.</p>'
    rows = "".join(
        f'<tr><td><span class="badge {escape(a["severity"])}">{escape(a["severity"])}</span></td>'
        f"<td>{escape(a['rule'])}</td><td>{escape(a['message'])}</td>"
        f"<td>{escape(a['opened_at'][:16])}</td></tr>" for a in alerts)
    return ("<table><tr><th>severity</th><th>rule</th><th>message</th><th>since (UTC)</th></tr>"
            f"{rows}</table>")


def _runs_table(cfg: OpsConfig, ops: OpsDB, runs: list[RunRecord],
                live: LiveRun | None) -> str:
    if not runs:
        return '<p class="muted">No runs recorded yet.</p>'
    rows = []
    for r in reversed(runs):
        outcome = r.outcome
        if outcome == "running" and live is not None and live.run_id == r.run_id:
            outcome = live.state  # running, or gone: killed without an ending
        color = OUTCOME_COLOR.get(outcome, "#dc2626" if outcome == "gone" else "#6b7280")
        rows.append(
            f"<tr><td>{_t(r.started_at)}</td><td>{human_duration(r.duration_seconds)}</td>"
            f'<td style="color:{color}">{escape(outcome)}</td>'
            + "".join(f'<td class="num">{r.total(c):,}</td>'
                      for c in ("inserted", "updated", "deleted", "rejected"))
            + f'<td class="num">{escape(read_text(r.read))}</td>'
            + f"<td>{escape(r.bookmark or '')}</td><td>{escape((r.detail or '')[:120])}</td></tr>")
    return ("<table><tr><th>start (UTC)</th><th>duration</th><th>outcome</th><th>inserted</th>"
            "<th>updated</th><th>deleted</th><th>rejected</th><th>read (rows, rows/s)</th>"
            f"<th>bookmark</th><th>detail</th></tr>{''.join(rows)}</table>")


def _live_html(run: LiveRun, now: datetime) -> str:
    """The running (or gone) run: percent bar, figures, entities being written."""
    if run.state == "gone":
        return f'<p class="gone" id="live-{escape(run.pipeline)}">{escape(run.summary(now))}</p>'
    percent = max(0.0, min(100.0, run.percent or 0.0))
    entities = "".join(f"<li>{escape(text)}</li>" for text in run.entity_lines())
    return (f'<div class="live" id="live-{escape(run.pipeline)}"><p><b>{escape(run.summary(now))}'
            f'</b></p><div class="bar" title="{percent:.0f}%"><div style="width:{percent:.1f}%">'
            f"</div></div>" + (f"<ul>{entities}</ul>" if entities else "") + "</div>")


def _freshness(cfg: OpsConfig, p: Pipeline, runs: list[RunRecord], now: datetime) -> str:
    last_ok: dict[str, RunRecord] = {}
    for r in runs:
        if r.outcome == "success":
            for e in r.entities:
                last_ok[e["stream"]] = r
    try:
        marks = bookmarks_of(read_state(cfg.system_db_url, p.state_id(cfg.environment)))
    except Exception:
        marks = {}
    names = sorted(set(last_ok) | set(marks))
    if not names:
        return '<p class="muted">No entity loaded yet.</p>'
    limit = (p.max_age_minutes + cfg.freshness_grace_minutes) * 60
    rows = []
    for name in names:
        run = last_ok.get(name)
        ended = run.ended_at if run else None
        age = (now - ended).total_seconds() if ended else None
        cls = "bad" if age is None or age > limit else "ok"
        rows.append(f"<tr><td>{escape(name)}</td><td>{_t(ended)}</td>"
                    f'<td class="{cls}">{human_duration(age)}</td>'
                    f"<td>{escape(marks.get(name, '-'))}</td></tr>")
    return ("<table><tr><th>entity</th><th>last successful load (UTC)</th><th>age</th>"
            f"<th>bookmark (Meltano state)</th></tr>{''.join(rows)}</table>"
            f'<p class="muted">Limit {human_duration(p.max_age_minutes * 60)} + '
            f"{human_duration(cfg.freshness_grace_minutes * 60)} grace.</p>")


def _reconciliation(rows: list[dict]) -> str:
    if not rows:
        return '<p class="muted">No reconciliation yet.</p>'
    body = []
    for r in rows:
        same = r["wms_rows"] is not None and r["wms_rows"] == r["table_rows"]
        ids = ", ".join(r["missing_in_table"][:10]) or "-"
        extra = ", ".join(r["extra_in_table"][:10]) or "-"
        body.append(
            f"<tr><td>{escape(r['entity'])}</td><td class=\"num\">{_n(r['wms_rows'])}</td>"
            f"<td class=\"num\">{_n(r['table_rows'])}</td>"
            f'<td class="{"ok" if same else "bad"}">{"match" if same else "DIFF"}</td>'
            f"<td class=\"num\">{r['inserted']}</td><td class=\"num\">{r['changed']}</td>"
            f"<td class=\"num\">{r['deleted']}</td><td>{escape(ids)}</td><td>{escape(extra)}</td>"
            f"<td>{escape(r['error'] or '')}</td></tr>")
    return (f"<p>Run {escape(rows[0]['run_id'] or '')} at {escape(rows[0]['created_at'][:16])}"
            " UTC</p><table><tr><th>entity</th><th>rows in WMS</th><th>rows in table</th>"
            "<th>check</th><th>inserted</th><th>changed</th><th>soft-deleted</th>"
            "<th>missing in table</th><th>extra in table</th><th>error</th></tr>"
            f"{''.join(body)}</table>")


def render(cfg: OpsConfig, ops: OpsDB, now: datetime | None = None) -> str:
    """The whole page as a string."""
    now = now or utcnow()
    records = build_history(cfg, ops)
    alerts = open_alerts(ops, cfg.environment)
    recon = latest_reconciliation(ops, cfg.environment)
    nav = " ".join(f'<a href="#pipeline-{escape(n)}">{escape(n)}</a>' for n in cfg.pipelines)
    live = running_for(cfg, now, ops)
    sections = []
    for p in cfg.pipelines.values():
        runs = [r for r in records if r.pipeline == p.name][-cfg.dashboard_max_runs:]
        real = [r for r in runs if r.outcome != "skipped"]
        bars = [(_t(r.started_at), r.duration_seconds or 0.0, r.outcome) for r in real]
        series: dict[str, list[tuple[datetime, int]]] = {}
        for r in real:
            for e in r.entities:
                if r.started_at:
                    n = sum(int(e.get(c) or 0) for c in ("inserted", "updated", "deleted"))
                    series.setdefault(e["stream"], []).append((r.started_at, n))
        last = real[-1] if real else None
        status = (f'last run <b style="color:{OUTCOME_COLOR.get(last.outcome, "#000")}">'
                  f"{escape(last.outcome)}</b> at {_t(last.started_at)} UTC, took "
                  f"{human_duration(last.duration_seconds)}") if last else "never run"
        skipped = sum(1 for r in runs if r.outcome == "skipped")
        now_run = live.get(p.name)
        if now_run is not None and now_run.state == "running":
            status = '<b style="color:#2563eb">running now</b>'
        elif now_run is not None and last is not None and last.outcome == "running":
            status = f'last run <span class="gone">gone</span> (started {_t(last.started_at)} UTC)'
        sections.append(
            f'<section class="pipeline" id="pipeline-{escape(p.name)}">'
            f"<h2>{escape(p.name)}</h2><p>{escape(p.tap)} &rarr; {escape(p.target)} &middot; "
            f"{status} &middot; {skipped} skipped</p>"
            + (_live_html(now_run, now) if now_run is not None else "") +
            f"<h3>Open alerts</h3>{_alerts_html([a for a in alerts if a['pipeline'] == p.name])}"
            f"<h3>Recent run durations</h3>"
            f"{duration_bars(bars, p.warning_minutes * 60, f'{p.name}: run duration')}"
            f"<h3>Records per entity</h3>"
            f"{line_chart(series, f'{p.name}: records per entity per run')}"
            f"<h3>Freshness per entity</h3>{_freshness(cfg, p, runs, now)}"
            + (f"<h3>Last reconciliation</h3>{_reconciliation(recon)}" if p.kind == "full"
               else "")
            + f"<h3>Recent runs</h3>{_runs_table(cfg, ops, runs, now_run)}</section>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>WMS pipelines ({escape(cfg.environment)})</title><style>{CSS}</style></head>"
        f"<body><header><h1>WMS pipelines &mdash; {escape(cfg.environment)}</h1>"
        f"<p>Generated {now:%Y-%m-%d %H:%M} UTC &middot; {len(alerts)} open alert(s)</p>"
        f"<nav>{nav}</nav></header><main>{''.join(sections)}</main></body></html>"
    )


def write_dashboard(cfg: OpsConfig, ops: OpsDB, output: Path) -> Path:
    """Write `index.html` into `output` (created if needed) and return its path."""
    output = output if output.is_absolute() else cfg.project_root / output
    output.mkdir(parents=True, exist_ok=True)
    page = output / "index.html"
    page.write_text(render(cfg, ops), encoding="utf-8")
    return page
