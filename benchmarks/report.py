"""Turning step results into the printed table, the README markdown and the JSON history.

Targets are reported, never asserted: a benchmark on a shared 2-core machine is ±15 % noisy, and
a red build for noise teaches people to ignore it. The history files stay small (no logs, no
per-process command lines beyond the role peaks) so they can live in git.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.paths import ROOT
from benchmarks.steps import StepResult

RSS_LIMIT_MB = 250.0
FULL_SYNC_MIN_SHARE = 0.40
INCREMENTAL_MAX_SHARE = 0.05
#: RSS "does not grow with scale": the larger scale's peak within 15 % (+10 MB) of the smaller's.
RSS_GROWTH_TOLERANCE = 1.15
RSS_GROWTH_SLACK_MB = 10.0
ROLE_ORDER = ("floor", "reader", "tap", "target", "meltano", "wms-ops", "other")


@dataclass
class Target:
    """One goal, its measured value and whether it was met (None: not measured)."""

    name: str
    goal: str
    value: str
    met: bool | None


def floor_rate(rows: Sequence[StepResult]) -> float | None:
    return next((r.rate for r in rows if r.step == "floor" and r.ok), None)


def _rss_text(peaks: dict[str, float]) -> str:
    roles = sorted(peaks, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 99)
    return ", ".join(f"{role} {peaks[role]:.0f}" for role in roles)


def _cells(row: StepResult, floor: float | None) -> list[str]:
    rate = row.rate
    share = f"{rate / floor:.0%}" if rate and floor else "-"
    return [
        row.label + ("" if row.ok else " (FAILED)"),
        f"{row.records:,}" if row.records is not None else "-",
        f"{row.wall_s:.1f}",
        f"{rate:,.0f}" if rate else "-",
        share,
        _cpu_text(row),
        _rss_text(row.peak_rss_mb) or "-",
        row.note,
    ]


def _cpu_text(row: StepResult) -> str:
    step = f"{row.cpu_s:.1f}" if row.cpu_s is not None else "-"
    sim = f"{row.sim_cpu_s:.1f}" if row.sim_cpu_s is not None else "-"
    return f"{step} / {sim}"


HEADERS = ["step", "records", "wall s", "rec/s", "of floor", "CPU s step / sim", "peak RSS MB",
           "note"]
RIGHT = {1, 2, 3, 4, 5}


def text_table(rows: Sequence[StepResult]) -> str:
    floor = floor_rate(rows)
    body = [_cells(r, floor) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in body)) for i, h in enumerate(HEADERS)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in RIGHT else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(HEADERS), line(["-" * w for w in widths]), *map(line, body)])


def markdown_table(rows: Sequence[StepResult]) -> str:
    floor = floor_rate(rows)
    align = ["---:" if i in RIGHT else "---" for i in range(len(HEADERS))]
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r, floor)) + " |"
            for r in rows]
    return "\n".join(out)


def _peak(rows: Sequence[StepResult], role: str) -> float | None:
    values = [r.peak_rss_mb[role] for r in rows if role in r.peak_rss_mb]
    return max(values) if values else None


def targets(rows: Sequence[StepResult]) -> list[Target]:
    """The issue's goals, evaluated on one scale's rows."""
    by_step = {r.step: r for r in rows if r.ok}
    out: list[Target] = []
    floor, full = floor_rate(rows), by_step.get("full_sync")
    if floor and full and full.rate:
        share = full.rate / floor
        out.append(Target("full sync rate", f">= {FULL_SYNC_MIN_SHARE:.0%} of floor rec/s",
                          f"{share:.0%}", share >= FULL_SYNC_MIN_SHARE))
    else:
        out.append(Target("full sync rate", f">= {FULL_SYNC_MIN_SHARE:.0%} of floor rec/s",
                          "not measured", None))
    inc = by_step.get("incremental")
    if inc and full:
        share = inc.wall_s / full.wall_s
        out.append(Target("incremental wall", f"<= {INCREMENTAL_MAX_SHARE:.0%} of full sync wall",
                          f"{share:.1%}", share <= INCREMENTAL_MAX_SHARE))
    else:
        out.append(Target("incremental wall", f"<= {INCREMENTAL_MAX_SHARE:.0%} of full sync wall",
                          "not measured", None))
    for role in ("tap", "target"):
        peak = _peak(rows, role)
        out.append(Target(f"{role} peak RSS", f"< {RSS_LIMIT_MB:.0f} MB",
                          f"{peak:.0f} MB" if peak is not None else "not measured",
                          None if peak is None else peak < RSS_LIMIT_MB))
    return out


def production_targets(rows: Sequence[StepResult], parallel: int) -> list[Target]:
    """The production-latency goals: parallel reads pay, and both syncs land WMS exactly."""
    by_step = {r.step: r for r in rows}
    seq, full, inc = (by_step.get(f"prod_{s}") for s in ("sequential", "full_sync", "incremental"))
    want = max(1, parallel // 2)
    goal = f">= {want}x the sequential reader's rec/s ({parallel} in flight allowed)"
    if seq and full and seq.rate and full.rate:
        ratio = full.rate / seq.rate
        out = [Target("full sync speed-up", goal, f"{ratio:.1f}x", ratio >= want)]
    else:
        out = [Target("full sync speed-up", goal, "not measured", None)]
    for name, row in (("full sync", full), ("first incremental behind the gateway", inc)):
        if row is None:
            out.append(Target(f"{name} exact", "completes, warehouse == WMS id for id",
                              "not measured", None))
            continue
        out.append(Target(f"{name} exact", "completes, warehouse == WMS id for id",
                          "yes" if row.ok else row.note or "failed", row.ok))
    return out


def growth_targets(small: Sequence[StepResult], large: Sequence[StepResult],
                   scales: tuple[int, int]) -> list[Target]:
    """Peak RSS of tap and target must not grow with scale."""
    out: list[Target] = []
    for role in ("tap", "target"):
        a, b = _peak(small, role), _peak(large, role)
        goal = f"not growing {scales[0]:,} -> {scales[1]:,}"
        if a is None or b is None:
            out.append(Target(f"{role} RSS vs scale", goal, "not measured", None))
            continue
        ok = b <= a * RSS_GROWTH_TOLERANCE + RSS_GROWTH_SLACK_MB
        out.append(Target(f"{role} RSS vs scale", goal, f"{a:.0f} -> {b:.0f} MB", ok))
    return out


def targets_text(items: Sequence[Target]) -> str:
    mark = {True: "met", False: "MISSED", None: "n/a"}
    return "\n".join(f"  {mark[t.met]:<6} {t.name}: {t.value} (goal {t.goal})" for t in items)


def _git_rev() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


def to_json(rows: Sequence[StepResult], items: Sequence[Target], *, scale: int, seed: int,
            page_size: int, started: datetime) -> dict[str, Any]:
    floor = floor_rate(rows)
    return {
        "date": started.astimezone(UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "seed": seed,
        "page_size": page_size,
        "host": {"cpus": _cpu_count(), "python": platform.python_version(),
                 "machine": platform.machine()},
        "git": _git_rev(),
        "rows": [{
            "step": r.step, "label": r.label, "ok": r.ok, "records": r.records,
            "wall_s": round(r.wall_s, 2),
            "records_per_s": round(r.rate) if r.rate else None,
            "share_of_floor": round(r.rate / floor, 3) if r.rate and floor else None,
            "cpu_s": r.cpu_s, "sim_cpu_s": r.sim_cpu_s,
            "peak_rss_mb": r.peak_rss_mb, "note": r.note, "detail": r.detail,
        } for r in rows],
        "targets": [{"name": t.name, "goal": t.goal, "value": t.value, "met": t.met}
                    for t in items],
    }


def _cpu_count() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def save(data: dict[str, Any], markdown: str, out_dir: Path, started: datetime) -> Path:
    """Write `<date>-<scale>.json` and the matching `.md`; return the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{started.astimezone(UTC):%Y-%m-%d}-{data['scale']}"
    if data.get("profile", "default") != "default":
        stem += f"-{data['profile']}"
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    profile = ("" if data.get("profile", "default") == "default"
               else f"profile {data['profile']} (latency {data.get('latency')}), ")
    (out_dir / f"{stem}.md").write_text(
        f"Scale {data['scale']:,}, seed {data['seed']}, {data['host']['cpus']} CPUs, {profile}"
        f"git {data['git']}, {data['date']}\n\n{markdown}\n")
    return json_path
