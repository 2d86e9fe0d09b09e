"""The projection from measured page latency and result counts (simulator latency profile).

The simulator's latency is a floor (it sleeps at least the page's cost), so "over the warning"
holds on any machine; nothing here asserts that something is fast.
"""

from __future__ import annotations

import time
from pathlib import Path

from doctor_helpers import by_name, run, settings, tap_settings

from orchestrate.doctor.projection import duration, page_seconds, serial_seconds
from orchestrate.doctor.wms import PageTiming
from wms_simulator.testing import running_simulator


def test_duration_reads_like_the_issue_example() -> None:
    assert duration(6120) == "~1 h 42 min"
    assert duration(7200) == "~2 h"
    assert duration(51 * 60) == "~51 min"
    assert duration(40) == "~40 s"


def test_page_cost_is_fixed_plus_per_record_from_two_measured_pages() -> None:
    # 1 s for one row, 16 s for 1,000 rows: 15 s over 999 more records; 500 rows ~8.5 s.
    t = PageTiming(one_row=1.0, full=16.0, records=1000)
    assert abs(page_seconds(t, 500) - (1.0 + 15.0 / 999 * 499)) < 1e-9
    # 1,234,567 rows of 1,000-row pages at 16 s: 1,235 pages → 19,760 s serially.
    assert abs(serial_seconds(1_234_567, t, 1000) - 1235 * 16.0) < 1e-6


def test_slow_tenant_full_sync_over_its_warning_is_a_warning_with_the_lever(
        tmp_path: Path) -> None:
    with running_simulator(scale=600, seed=4, latency={"per_request": 0.05,
                                                        "per_record": 0.001}) as sim:
        s = settings(tmp_path, tap_settings(sim, entities=["allocation", "order_dtl"],
                                            max_parallel_requests=2),
                     full_sync_warning_minutes="0.001")
        checks = by_name(run(s))
    full = checks["projection.full"]
    assert full.status == "warning"
    assert "at 2 in flight" in full.found and "at 4" in full.found
    assert "max_parallel_requests" in (full.fix or "")
    assert "rows:" in checks["projection.full.allocation"].found


def test_incremental_counts_rows_changed_in_the_last_two_hours(tmp_path: Path) -> None:
    with running_simulator(scale=600, seed=4) as sim:
        sim.apply_changes(update=7, entities=["order_hdr"])
        # The data lives on a synthetic clock; the doctor reads "now" from the WMS's Date.
        sim.app.date_offset = sim.store.clock / 1e6 - time.time()
        s = settings(tmp_path, tap_settings(sim, entities=["order_hdr"]),
                     pipeline="incremental_sync")
        checks = by_name(run(s))
    inc = checks["projection.incremental.order_hdr"]
    assert inc.status == "ok" and "rows changed in the last 2 h" in inc.found
    changed = int(inc.found.split(": ")[1].split(" rows")[0].replace(",", ""))
    assert changed >= 7
    assert "projection.full" not in checks
