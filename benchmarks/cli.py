"""`python -m benchmarks`: start the simulator, run the selected steps, print and save the table.

One simulator per scale, started fresh so every scale begins from the same seeded data; the
incremental step changes records, so it always runs last. `--profile production` runs the
production-latency steps (`benchmarks.production`) instead, on a simulator charging real-tenant
latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from benchmarks import configs, production, report
from benchmarks.paths import ENTITIES, RESULTS_DIR
from benchmarks.simulator import serve, warm_up
from benchmarks.steps import RUNNERS, STEPS, Bench, StepResult

#: Simulator page cache of a benchmark run (MB). Rendered pages are ~1.5 KB per record per
#: page size warmed (the steps' page size and the full-sync job's), so 3,000 MB holds 1,000,000
#: records at both page sizes.
DEFAULT_SIM_CACHE_MB = 3000.0

#: 1-minute load average above which the machine is not ours alone (warned, recorded in JSON).
BUSY_LOAD = 0.7


def _scales(text: str) -> tuple[int, int]:
    parts = [int(p.replace("_", "")) for p in text.split(",") if p.strip()]
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError("expected two scales, e.g. 200000,1000000")
    return (min(parts), max(parts))


PROFILES = {"default": STEPS, "production": production.STEPS}
DEFAULT_SCALE = {"default": 1_000_000, "production": 200_000}


def _steps(text: str, known: tuple[str, ...]) -> list[str]:
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown step(s) {unknown}; choose from {known}")
    return [s for s in known if s in wanted]  # always in pipeline order


def _latency(text: str) -> dict[str, object]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--latency is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("--latency must be a JSON object")
    return data


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Records/s and peak RSS of the floor loader, the tap, the target, "
                    "meltano run full_sync and an incremental run, against the WMS simulator.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default",
                        help="default: the CPU-bound steps on an instant simulator; production: "
                             f"{','.join(production.STEPS)} on a simulator charging production "
                             "latency (see benchmarks/README.md)")
    parser.add_argument("--scale", type=int,
                        help="records over the three entities (default 1,000,000; "
                             "200,000 with --profile production)")
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    parser.add_argument("--only", metavar="STEPS",
                        help=f"comma list of steps to run, from {','.join(STEPS)} (with "
                             f"--profile production: {','.join(production.STEPS)}); default all")
    parser.add_argument("--latency", type=_latency, metavar="JSON",
                        help="with --profile production: override the simulator's latency "
                             f"profile keys (default {orjson.dumps(production.PROFILE).decode()})")
    parser.add_argument("--compare-scales", type=_scales, metavar="A,B",
                        help="run the steps at two scales and compare (overrides --scale)")
    parser.add_argument("--page-size", type=int, default=1000,
                        help="page size of the floor and the tap-alone steps (default 1000); "
                             "the meltano jobs use their own plugin config")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR,
                        help="where <date>-<scale>.json/.md go (default benchmarks/results)")
    parser.add_argument("--no-save", action="store_true", help="print only, write no results")
    parser.add_argument("--workdir", type=Path,
                        help="scratch directory (Singer recording, SQLite files, logs); "
                             "default a temporary directory, removed afterwards")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory (its path is printed)")
    parser.add_argument("--sim-cache-mb", type=float, default=DEFAULT_SIM_CACHE_MB,
                        help="simulator page cache in MB, warmed before the steps so the "
                             "server's own cost is negligible, as in perf-notes (default "
                             f"{DEFAULT_SIM_CACHE_MB:g}; 0: no cache, no warm-up)")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between process-tree RSS polls (default 0.05)")
    args = parser.parse_args(argv)
    known = PROFILES[args.profile]
    try:
        args.only = _steps(args.only, known) if args.only else list(known)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument --only: {exc}")
    if args.scale is None:
        args.scale = DEFAULT_SCALE[args.profile]
    if args.latency and args.profile != "production":
        parser.error("--latency applies to --profile production only")
    return args


def run_scale(args: argparse.Namespace, scale: int, workdir: Path) -> list[StepResult]:
    """Every selected step at one scale, against a simulator of its own."""
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    print(f"\n== scale {scale:,}, seed {args.seed}, steps {','.join(args.only)}; "
          f"scratch {workdir}", flush=True)
    if load_before > BUSY_LOAD:
        print(f"   warning: load average {load_before:.1f} before starting: other work shares "
              "the CPUs, so rates will read low", flush=True)
    rows: list[StepResult] = []
    cache_mb = args.sim_cache_mb
    with serve(scale, args.seed, workdir / "simulator.log", cache_mb=cache_mb) as sim:
        print(f"   simulator {sim.base_url} (pid {sim.pid}), page cache "
              f"{f'{cache_mb:g} MB' if cache_mb > 0 else 'off'}", flush=True)
        if cache_mb > 0:
            sizes = [args.page_size, *filter(None, [configs.meltano_page_size()])]
            if args.profile == "production":  # every step reads at the full-sync job's size
                sizes = [configs.meltano_page_size() or args.page_size]
            warm = warm_up(sim, ENTITIES, sizes)
            print(f"   warm-up: {warm['pages']} pages at page sizes {sorted(set(sizes))} in "
                  f"{warm['seconds']} s; cache {warm['cache']}", flush=True)
        bench = Bench(sim=sim, workdir=workdir, page_size=args.page_size,
                      interval=args.interval)
        if args.profile == "production":
            profile = {**production.PROFILE, **(args.latency or {})}
            print(f"   latency profile {profile}", flush=True)
            rows = production.run_steps(bench, args.only, profile, on_row=_print_row)
        else:
            for step in args.only:
                for row in RUNNERS[step](bench):
                    rows.append(row)
                    _print_row(row)
    title = f"Scale {scale:,}" + (", production latency" if args.profile == "production" else "")
    print(f"\n{title}:\n{report.text_table(rows)}")
    goals = (report.production_targets(rows, production.PARALLEL)
             if args.profile == "production" else report.targets(rows))
    print(f"\nTargets (reported, not asserted):\n{report.targets_text(goals)}")
    markdown = report.markdown_table(rows)
    print(f"\nMarkdown:\n\n{markdown}\n", flush=True)
    if not args.no_save:
        data = report.to_json(rows, goals, scale=scale, seed=args.seed,
                              page_size=args.page_size, started=started)
        data["sim_cache_mb"] = args.sim_cache_mb
        data["profile"] = args.profile
        if args.profile == "production":
            data["latency"] = {**production.PROFILE, **(args.latency or {})}
        data["host"]["load_avg_1m"] = {"start": round(load_before, 2),
                                       "end": round(os.getloadavg()[0], 2)}
        path = report.save(data, markdown, args.output_dir, started)
        print(f"Saved {path}")
    return rows


def _print_row(row: StepResult) -> None:
    rate = f"{row.rate:,.0f} rec/s" if row.rate else "-"
    print(f"   {row.label}: {row.wall_s:.1f} s, {rate}, peak RSS {row.peak_rss_mb or '-'}"
          f"{'' if row.ok else ' FAILED'}{f' ({row.note})' if row.note and not row.ok else ''}",
          flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scales = list(args.compare_scales) if args.compare_scales else [args.scale]
    root = args.workdir or Path(tempfile.mkdtemp(prefix="wms-bench-"))
    results: dict[int, list[StepResult]] = {}
    try:
        for scale in scales:
            results[scale] = run_scale(args, scale, root / f"scale-{scale}")
    finally:
        if args.keep or args.workdir:
            print(f"Scratch kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.compare_scales:
        small, large = scales
        print(f"\nScales {small:,} vs {large:,}:\n{compare_text(results[small], results[large])}")
        goals = report.growth_targets(results[small], results[large], (small, large))
        print(f"\n{report.targets_text(goals)}")
    failed = [r.label for rows in results.values() for r in rows if not r.ok]
    if failed:
        print(f"\nFailed steps: {', '.join(failed)}")
    return 1 if failed else 0


def compare_text(small: Sequence[StepResult], large: Sequence[StepResult]) -> str:
    """Rates and peak RSS of the same steps at two scales, side by side."""
    by_step = {r.step: r for r in large}
    lines = [f"{'step':<24}{'rec/s small':>13}{'rec/s large':>13}  peak RSS MB small -> large"]
    for r in small:
        other = by_step.get(r.step)
        if other is None:
            continue
        rate_a = f"{r.rate:,.0f}" if r.rate else "-"
        rate_b = f"{other.rate:,.0f}" if other.rate else "-"
        lines.append(f"{r.step:<24}{rate_a:>13}{rate_b:>13}  "
                     f"{r.peak_rss_mb or '-'} -> {other.peak_rss_mb or '-'}")
    return "\n".join(lines)
