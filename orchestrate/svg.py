"""Tiny inline-SVG charts for the dashboard (no JS, no CDN: the page must work offline)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d",
           "#db2777", "#4b5563", "#ca8a04"]
OUTCOME_COLOR = {"success": "#16a34a", "failed": "#dc2626", "running": "#2563eb",
                 "skipped": "#9ca3af"}



def _gridlines(x1: float, x2: float, top: float, plot_h: float,
               label: Callable[[float], str]) -> list[str]:
    """Horizontal grid lines at 0, 50 and 100 % of the plot, each with its axis label."""
    out = []
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{x1 - 6}" y="{y + 4:.1f}" text-anchor="end" class="ax">'
                   f"{label(frac)}</text>")
    return out


def duration_bars(runs: list[tuple[str, float, str]], threshold: float, title: str,
                  width: int = 720, height: int = 220) -> str:
    """Bars of run durations (seconds) coloured by outcome, with the warning threshold line."""
    left, right, top, bottom = 56, 12, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([threshold * 1.15, *(s for _, s, _ in runs)]) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" class="ct">{escape(title)}</text>']
    parts += _gridlines(left, width - right, top, plot_h,
                        lambda frac: f"{top_value * frac / 60:.0f}m")
    n = max(len(runs), 1)
    slot = plot_w / n
    for i, (label, seconds, outcome) in enumerate(runs):
        h = plot_h * seconds / top_value
        x = left + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{max(h, 1):.1f}" fill="{OUTCOME_COLOR.get(outcome, "#6b7280")}">'
            f"<title>{escape(label)}: {seconds / 60:.1f} min, {escape(outcome)}</title></rect>")
    if runs:
        parts.append(f'<text x="{left}" y="{height - 8}" class="ax">{escape(runs[0][0])}</text>')
        parts.append(f'<text x="{width - right}" y="{height - 8}" text-anchor="end" class="ax">'
                     f"{escape(runs[-1][0])}</text>")
    else:
        parts.append(f'<text x="{left + 10}" y="{top + plot_h / 2}" class="ax">no runs yet</text>')
    ty = top + plot_h * (1 - threshold / top_value)
    parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
                 'stroke="#dc2626" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{width - right}" y="{ty - 4:.1f}" text-anchor="end" class="thr">'
                 f"warning threshold {threshold / 60:.0f} min</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: dict[str, list[tuple[datetime, int]]], title: str,
               width: int = 720, height: int = 240) -> str:
    """One line per entity: records loaded per run over time, with a legend."""
    left, right, top, bottom = 56, 150, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for pts in series.values() for p in pts]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" class="ct">{escape(title)}</text>']
    if not points:
        parts.append(f'<text x="{left + 10}" y="{top + plot_h / 2}" class="ax">'
                     "no records loaded yet</text></svg>")
        return "".join(parts)
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    span = (t1 - t0) or 1.0
    vmax = max(v for _, v in points) or 1
    parts += _gridlines(left, left + plot_w, top, plot_h, lambda frac: f"{vmax * frac:,.0f}")
    for i, (name, pts) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        coords = [
            (left + plot_w * ((t.timestamp() - t0) / span if t1 > t0 else 0.5),
             top + plot_h * (1 - v / vmax)) for t, v in sorted(pts)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), (t, v) in zip(coords, sorted(pts), strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                         f"<title>{escape(name)} {t:%Y-%m-%d %H:%M}: {v:,}</title></circle>")
        ly = top + 14 + i * 18
        parts.append(f'<rect x="{left + plot_w + 14}" y="{ly - 9}" width="10" height="10" '
                     f'fill="{color}"/><text x="{left + plot_w + 30}" y="{ly}" class="lg">'
                     f"{escape(name)}</text>")
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    parts.append(f'<text x="{left}" y="{height - 8}" class="ax">{first:%Y-%m-%d %H:%M}</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="ax">'
                 f"{last:%Y-%m-%d %H:%M}</text></svg>")
    return "".join(parts)
