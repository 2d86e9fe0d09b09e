"""`wms-ops` command line (run it as `meltano invoke wms-ops <command>` or as a job task).

Commands: history, check, dashboard, pause, resume, guard, reconcile, crontab, doctor. Everything
after a bare `--` belongs to `guard`'s inner command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from orchestrate.config import OpsConfig, load_config
from orchestrate.dbaccess import DatabaseBusy
from orchestrate.opsdb import OpsDB, OpsDBUnavailable, open_ops_db
from orchestrate.timeutil import parse_duration, parse_when, utcnow


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wms-ops", description="Operations for the WMS pipelines.")
    sub = ap.add_subparsers(dest="command", required=True)

    h = sub.add_parser("history", help="every run of each pipeline")
    h.add_argument("--pipeline", help="full_sync / incremental_sync (or full / incremental)")
    h.add_argument("--since", help="only runs started in this window, e.g. 7d, 12h")
    h.add_argument("--format", choices=["table", "json"], default="table")
    h.add_argument("--all-environments", action="store_true")
    h.add_argument("--reconciliation", action="store_true",
                   help="print the last reconciliation report instead")

    c = sub.add_parser("check", help="evaluate thresholds, send new alerts and recoveries")
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.add_argument("--exit-code", action="store_true",
                   help="exit 2 when a CRITICAL holds, 1 for WARNING only (default: always 0)")

    d = sub.add_parser("dashboard", help="write the static HTML dashboard")
    d.add_argument("--output", help="directory (default: setting dashboard_output, 'site')")

    for name, text in (("pause", "pause a pipeline"), ("resume", "lift a pause")):
        p = sub.add_parser(name, help=text)
        p.add_argument("pipeline")
        p.add_argument("--environment",
                       help="environment to (un)pause; default current, '*' for all")
        if name == "pause":
            p.add_argument("--until", help="ISO time or duration from now (2h, 3d); default: "
                                           "until resumed")
            p.add_argument("--reason")

    sub.add_parser("status", help="running runs (percent, rate, ETA), pauses, maintenance "
                                  "windows and open alerts")

    g = sub.add_parser("guard", help="run a pipeline under pause/maintenance/lock guards")
    g.add_argument("--pipeline", required=True)
    g.add_argument("--wait", type=float, help="seconds to wait for the lock (default: setting)")
    g.add_argument("--force", action="store_true", help="ignore pauses and maintenance windows")
    g.add_argument("--exec", action="store_true", dest="exec_mode",
                   help="the words after -- are a whole command, not meltano arguments")
    g.add_argument("--no-check", action="store_true", help="skip reconcile/check afterwards")

    r = sub.add_parser("reconcile", help="compare WMS and table row counts after a full sync")
    r.add_argument("--run-id", help="full-sync run to reconcile (default: latest success)")
    r.add_argument("--format", choices=["table", "json"], default="table")

    t = sub.add_parser("crontab", help="print cron lines for the Meltano schedules")
    t.add_argument("--source", choices=["auto", "meltano", "yaml"], default="auto")
    t.add_argument("--environment", help="MELTANO_ENVIRONMENT for the cron lines")
    t.add_argument("--log-dir", help="default: .meltano/wms-ops/logs")
    t.add_argument("--check-every", type=int, default=5, help="minutes; 0 = no check line")

    dr = sub.add_parser("doctor", help="check WMS, warehouse and operations before a first run")
    dr.add_argument("--pipeline", default="full_sync", help="full_sync (default) or "
                                                            "incremental_sync")
    dr.add_argument("--format", choices=["text", "json"], default="text")
    dr.add_argument("--send-test-alert", action="store_true",
                    help="also send a test alert through every configured channel")
    return ap


def _cmd_history(cfg: OpsConfig, ops: OpsDB, args: argparse.Namespace) -> int:
    if args.reconciliation:
        from orchestrate.reconcile import latest_reconciliation

        print(json.dumps(latest_reconciliation(ops, cfg.environment), indent=2))
        return 0
    from orchestrate.history import build_history, format_json, format_table

    since = utcnow() - parse_duration(args.since) if args.since else None
    records = build_history(cfg, ops, args.pipeline, since, args.all_environments)
    print(format_json(records) if args.format == "json" else format_table(records))
    return 0


def _cmd_check(cfg: OpsConfig, ops: OpsDB, args: argparse.Namespace) -> int:
    from orchestrate.alerts import open_alerts, run_check

    result = run_check(cfg, ops)
    if args.format == "json":
        print(json.dumps({
            "conditions": [c.__dict__ | {"key": c.key} for c in result.conditions],
            "events": [e.__dict__ for e in result.events],
            "channel_failures": result.failures,
        }, indent=2))
    else:
        for a in open_alerts(ops, cfg.environment):
            print(f"OPEN {a['severity']:8} {a['pipeline']:18} {a['rule']:22} {a['message']}")
        for e in result.events:
            print(f"SENT {e.text}")
        if not result.conditions:
            print(f"all clear ({cfg.environment})")
    if not args.exit_code:
        return 0
    return {"CRITICAL": 2, "WARNING": 1}.get(result.worst or "", 0)


def _cmd_status(cfg: OpsConfig, ops: OpsDB) -> int:
    from orchestrate.pauses import blocking_reason
    from orchestrate.progress import running_for
    from orchestrate.timeutil import utcnow

    now = utcnow()
    live = running_for(cfg, now, ops)
    for name in cfg.pipelines:
        run = live.get(name)
        blocked = blocking_reason(cfg, ops, name)
        if run is not None and run.state == "running":
            print(f"{name:18} {run.summary(now)}" + (f"; next runs: {blocked}" if blocked else ""))
            for text in run.entity_lines():
                print(f"{'':18}   {text}")
            continue
        gone = f"; last run {run.summary(now)}" if run is not None else ""
        print(f"{name:18} {blocked or 'runnable'}{gone}")
    for a in ops.query("SELECT * FROM alerts WHERE closed_at IS NULL ORDER BY opened_at"):
        print(f"alert {a['environment']}/{a['pipeline']} {a['severity']} {a['rule']}: "
              f"{a['message']}")
    return 0


def _dispatch(cfg: OpsConfig, ops: OpsDB, args: argparse.Namespace, inner: list[str]) -> int:
    if args.command == "history":
        return _cmd_history(cfg, ops, args)
    if args.command == "check":
        return _cmd_check(cfg, ops, args)
    if args.command == "dashboard":
        from orchestrate.dashboard import write_dashboard

        page = write_dashboard(cfg, ops, Path(args.output or cfg.dashboard_output))
        print(f"dashboard written to {page}")
        return 0
    if args.command in ("pause", "resume"):
        from orchestrate import pauses

        name = cfg.pipeline(args.pipeline).name
        env = args.environment or os.environ.get("MELTANO_ENVIRONMENT") or "*"
        if args.command == "pause":
            until = parse_when(args.until) if args.until else None
            pauses.pause(ops, name, env, until, args.reason)
            print(f"{name} paused in environment {env} until "
                  f"{until.isoformat() if until else 'resumed'}")
        else:
            n = pauses.resume(ops, name, env)
            print(f"{name} resumed in environment {env} ({n} pause(s) lifted)")
        return 0
    if args.command == "status":
        return _cmd_status(cfg, ops)
    if args.command == "guard":
        from orchestrate.guard import run_guard

        if args.no_check:
            cfg.check_after_guard = cfg.reconcile_after_full_sync = False
        return run_guard(cfg, ops, args.pipeline, inner, args.exec_mode, args.wait, args.force)
    if args.command == "reconcile":
        from orchestrate.reconcile import reconcile

        rows = reconcile(cfg, ops, args.run_id)
        if args.format == "json":
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['entity']:24} wms={r['wms_rows']} table={r['table_rows']} "
                      f"inserted={r['inserted']} changed={r['changed']} deleted={r['deleted']} "
                      f"missing={r['missing_in_table']} extra={r['extra_in_table']} "
                      f"{r['error'] or ''}")
        return 0
    if args.command == "crontab":
        from orchestrate.guard import find_meltano
        from orchestrate.schedules import load_schedules, render_crontab

        meltano = find_meltano(cfg)
        log_dir = Path(args.log_dir) if args.log_dir else cfg.ops_db_path.parent / "logs"
        schedules = load_schedules(cfg.project_root, args.source, meltano)
        print(render_crontab(schedules, cfg.project_root, meltano,
                             args.environment, log_dir, args.check_every), end="")
        return 0
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `wms-ops` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    inner: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, inner = argv[:cut], argv[cut + 1:]
    logging.basicConfig(
        level=os.environ.get("WMS_OPS_LOG_LEVEL", "INFO").upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # before the ops DB opens: its being writable is a check
        from orchestrate.doctor.command import doctor

        return doctor(load_config(), args.pipeline, args.format, args.send_test_alert)
    cfg = load_config()
    try:
        ops = open_ops_db(cfg)
    except (DatabaseBusy, OpsDBUnavailable) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return _dispatch(cfg, ops, args, inner)
    finally:
        ops.close()


if __name__ == "__main__":
    sys.exit(main())
