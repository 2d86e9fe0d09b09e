"""``wms-simulator``: serve the simulated lgfapi, or drive a running one (changes, faults)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import requests

from wms_simulator.app import Simulator
from wms_simulator.faults import FaultConfigError
from wms_simulator.latency import LatencyConfigError, LatencyProfile
from wms_simulator.server import SimHTTPServer


def _json_arg(text: str | None) -> dict[str, Any] | None:
    """A JSON object given inline or as ``@path``."""
    if not text:
        return None
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise SystemExit("expected a JSON object")
    return data


_LATENCY_FLAGS = {
    "per_request": ("--latency-per-request", float, "seconds every API request costs"),
    "per_record": ("--latency-per-record", float, "seconds per record on a list page"),
    "sort_per_row": (
        "--sort-cost-per-row",
        float,
        "seconds per matching row, every page of a query not ordered by id",
    ),
    "gateway_seconds": (
        "--gateway-seconds",
        float,
        "a list call costing more waits this long, then answers 504 (0: no gateway)",
    ),
    "max_concurrent": (
        "--max-concurrent",
        int,
        "API requests served at once; the rest queue (0: unbounded)",
    ),
}


def _latency_args(args: argparse.Namespace) -> dict[str, Any]:
    """The latency profile keys given on the command line (the rest stay instant)."""
    given = {key: getattr(args, key) for key in _LATENCY_FLAGS}
    return {key: value for key, value in given.items() if value is not None}


def serve(args: argparse.Namespace) -> int:
    try:
        app = Simulator(
            scale=args.scale,
            seed=args.seed,
            environment=args.environment,
            page_delay=args.page_delay,
            faults=_json_arg(args.faults),
            token_ttl=args.token_ttl,
            cache_mb=args.cache_mb,
            latency=_latency_args(args),
        )
    except (FaultConfigError, LatencyConfigError) as exc:
        print(f"wms-simulator: {exc}", file=sys.stderr)
        return 2
    server = SimHTTPServer((args.host, args.port), app)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(app.base_url, flush=True)
    print(
        f"wms-simulator: scale={args.scale} seed={args.seed} counts={app.store.counts}"
        + ("" if app.latency == LatencyProfile() else f" latency={app.latency.as_dict()}"),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _post(url: str, payload: dict[str, Any]) -> int:
    try:
        resp = requests.post(
            url,
            data=orjson.dumps(payload),
            headers={"Content-Type": "application/json"},
            timeout=300,
        )
    except requests.RequestException as exc:
        print(f"wms-simulator: {exc}", file=sys.stderr)
        return 1
    print(resp.text)
    return 0 if resp.ok else 1


def change(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {
        "update": args.update,
        "insert": args.insert,
        "delete": args.delete,
        "tie": args.tie,
        "late": args.late,
    }
    if args.entity:
        payload["entities"] = args.entity
    return _post(f"{args.base_url.rstrip('/')}/_sim/changes", payload)


def faults(args: argparse.Namespace) -> int:
    return _post(f"{args.base_url.rstrip('/')}/_sim/faults", _json_arg(args.json) or {})


def latency(args: argparse.Namespace) -> int:
    return _post(f"{args.base_url.rstrip('/')}/_sim/latency", _latency_args(args))


def stats(args: argparse.Namespace) -> int:
    try:
        resp = requests.get(f"{args.base_url.rstrip('/')}/_sim/stats", timeout=30)
    except requests.RequestException as exc:
        print(f"wms-simulator: {exc}", file=sys.stderr)
        return 1
    print(resp.text)
    return 0 if resp.ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wms-simulator", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the simulated API in the foreground")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    s.add_argument("--environment", default="dev")
    s.add_argument(
        "--scale",
        type=int,
        default=2000,
        help="records over order_hdr/order_dtl/allocation (10/30/60 %%)",
    )
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--page-delay", type=float, default=0.0, help="seconds added per list page")
    s.add_argument("--faults", help="fault config as JSON, or @file.json")
    s.add_argument("--token-ttl", type=float, default=3600.0, help="OAuth token lifetime (s)")
    s.add_argument("--cache-mb", type=float, default=0.0,
                   help="LRU of rendered list pages, in MB (default 0: off); for benchmarks")
    for key, (flag, kind, text) in _LATENCY_FLAGS.items():
        s.add_argument(flag, dest=key, type=kind, default=None, help=f"production latency: {text}")
    s.set_defaults(func=serve)
    c = sub.add_parser("change", help="apply simulated changes to a running simulator")
    c.add_argument("--base-url", required=True)
    for name in ("update", "insert", "delete", "tie", "late"):
        c.add_argument(f"--{name}", type=int, default=0)
    c.add_argument("--entity", action="append", help="repeatable; default: the main three")
    c.set_defaults(func=change)
    f = sub.add_parser("faults", help="replace the fault configuration of a running simulator")
    f.add_argument("--base-url", required=True)
    f.add_argument("--json", default="{}", help="JSON object or @file; {} turns faults off")
    f.set_defaults(func=faults)
    la = sub.add_parser(
        "latency", help="replace the latency profile of a running simulator (no flags: instant)"
    )
    la.add_argument("--base-url", required=True)
    for key, (flag, kind, text) in _LATENCY_FLAGS.items():
        la.add_argument(flag, dest=key, type=kind, default=None, help=text)
    la.set_defaults(func=latency)
    st = sub.add_parser("stats", help="print request statistics of a running simulator")
    st.add_argument("--base-url", required=True)
    st.set_defaults(func=stats)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
