"""Will the first run fit its window? Rows per entity times the measured cost of a page.

The cost model is measured, not assumed: a one-row page gives the fixed cost of a request, a
page of the configured size adds the per-record cost (on production tenants ~1 s plus 15-20 ms
a record). Pages in flight at once divide the time; the projection assumes the tenant serves
`max_parallel_requests` pages as fast as one, so it is a best case — the tap's limit halves
when the tenant pushes back. The full sync also shows twice the parallelism, for the decision
the 2 h warning asks for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import requests

from orchestrate.doctor.report import Check, ok, warn
from orchestrate.doctor.settings import DoctorSettings
from orchestrate.doctor.wms import PageTiming, WmsDoctor, count_of, json_of
from orchestrate.timeutil import utcnow

G = "projection"
CHANGED_HOURS = 2


def duration(seconds: float) -> str:
    """`~1 h 42 min`, `~51 min`, `~40 s`."""
    if seconds < 60:
        return f"~{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"~{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"~{hours} h {rest} min" if rest else f"~{hours} h"


def page_seconds(t: PageTiming, page_size: int) -> float:
    """Seconds one page of `page_size` records costs, from the two measured pages."""
    if t.full is None or t.records <= 1:
        return t.one_row
    per_record = max(0.0, (t.full - t.one_row) / (t.records - 1))
    return t.one_row + per_record * (page_size - 1)


def serial_seconds(rows: int, t: PageTiming, page_size: int) -> float:
    """One reader, page after page."""
    pages = max(1, math.ceil(rows / page_size)) if rows else 0
    return pages * page_seconds(t, page_size)


def _at(seconds: float, parallel: int) -> str:
    if seconds <= 0:
        return "nothing to read"
    return f"{duration(seconds / parallel)} at {parallel} in flight"


def full_sync(s: DoctorSettings, wms: WmsDoctor) -> Iterator[Check]:
    """Each entity's share and the whole run, against the full sync's warning."""
    facts, p = wms.facts, s.max_parallel
    limit = s.pipeline.warning_minutes * 60
    label = f"{duration(limit)[1:]} warning"
    total = 0.0
    for entity, rows in facts.counts.items():
        secs = serial_seconds(rows, facts.timings[entity], s.page_size)
        total += secs
        text = f"{entity} {rows:,} rows: {_at(secs, p)} ({label}); {duration(secs / (2 * p))} " \
               f"at {2 * p}"
        yield (warn if secs / p > limit else ok)(G, f"full.{entity}", text)
    if not facts.counts:
        return
    rows = sum(facts.counts.values())
    text = (f"full sync of {len(facts.counts)} entities, {rows:,} rows: {_at(total, p)} "
            f"({label}); {duration(total / (2 * p))} at {2 * p} (page_size {s.page_size}, "
            "best case: the tenant serving that many pages as fast as one)")
    if total / p > limit:
        need = math.ceil(total / limit)
        yield warn(G, "full", text, f"raise max_parallel_requests toward {need} if the tenant "
                   "keeps up, or trim entities / add entity_filters")
    else:
        yield ok(G, "full", text)


def incremental(s: DoctorSettings, wms: WmsDoctor) -> Iterator[Check]:
    """Rows changed in the last two hours (one incremental's worth), and their time."""
    facts, p = wms.facts, s.max_parallel
    key = str(s.tap.get("replication_key") or "mod_ts")
    # mod_ts is written on the WMS clock: the window ends at its "now", not ours.
    now = utcnow() + timedelta(seconds=facts.server_offset)
    since = (now - timedelta(hours=CHANGED_HOURS)).isoformat()
    limit = s.pipeline.warning_minutes * 60
    total, changed = 0.0, 0
    for entity in facts.counts:
        try:
            resp, _ = wms._get(f"{entity}/", {"page_mode": "paged", "page_size": 1,
                                              f"{key}__gte": since})
        except requests.RequestException as exc:
            yield warn(G, f"incremental.{entity}", f"{entity}: count of changed rows failed "
                       f"({type(exc).__name__})")
            continue
        if resp.status_code not in (200, 404):
            yield warn(G, f"incremental.{entity}", f"{entity}: {key}__gte filter answered "
                       f"HTTP {resp.status_code}", f"check replication_key ({key})")
            continue
        rows = (count_of(json_of(resp)) or 0) if resp.status_code == 200 else 0
        secs = serial_seconds(rows, facts.timings[entity], s.page_size)
        total += secs
        changed += rows
        yield ok(G, f"incremental.{entity}", f"{entity}: {rows:,} rows changed in the last "
                 f"{CHANGED_HOURS} h: {_at(secs, p)}")
    text = (f"an incremental of {changed:,} changed rows: {_at(total, p)} "
            f"({duration(limit)[1:]} warning)")
    yield (warn if total / p > limit else ok)(G, "incremental", text)
