"""The mod_ts window walk of an incremental run."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from tap_oracle_wms.windows import WindowWalk

T0 = datetime(2000, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_windows_tile_lower_to_horizon_then_one_open_window() -> None:
    horizon = T0 + 10 * HOUR
    walk = WindowWalk(T0, horizon, HOUR)
    seen = []
    while not walk.done:
        seen.append((walk.start, walk.end))
        walk.complete(pages=5)  # neither sparse nor crowded: the width stays
    assert seen[0] == (T0, T0 + HOUR)
    for (_, end), (start, _) in itertools.pairwise(seen):
        assert end == start, "a gap or an overlap between windows"
    assert seen[-2][1] == horizon and seen[-1] == (horizon, None)


def test_sparse_history_widens_quickly() -> None:
    """A first run from 2000 does not pay one request per day of empty history."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    walk = WindowWalk(T0, now, 24 * HOUR)
    windows = 0
    while not walk.done:
        walk.complete(pages=1)
        windows += 1
    assert windows < 20


def test_a_504_halves_the_window_and_crowded_windows_narrow_the_next() -> None:
    walk = WindowWalk(T0, T0 + 100 * HOUR, 8 * HOUR)
    assert walk.shrink()
    assert (walk.start, walk.end) == (T0, T0 + 4 * HOUR)
    end = walk.complete(pages=8)
    assert end == T0 + 4 * HOUR
    assert walk.end - walk.start == 2 * HOUR  # 8 pages where 4 were wanted: half as wide


def test_shrinking_stops_at_the_floor() -> None:
    walk = WindowWalk(T0, T0 + HOUR, timedelta(minutes=3), min_width=timedelta(minutes=1))
    assert walk.shrink()  # 1.5 min
    assert not walk.shrink()  # 45 s is under the floor
    assert not WindowWalk(None, T0, HOUR).shrink(), "no lower bound: nothing to halve"


def test_no_lower_bound_is_one_open_window() -> None:
    walk = WindowWalk(None, T0, HOUR)
    assert (walk.start, walk.end) == (None, None)
    assert walk.complete(pages=3) is None and walk.done


def test_a_width_that_failed_is_not_grown_back_into_while_windows_find_rows() -> None:
    walk = WindowWalk(T0, T0 + 1000 * HOUR, 8 * HOUR)
    assert walk.shrink()  # 8 h answered 504: 4 h
    for _ in range(5):
        walk.complete(pages=1, rows=10)
        assert walk.end - walk.start == 4 * HOUR, "grew back into the width that failed"
    walk.complete(pages=1, rows=0)  # an empty stretch: the cap is lifted
    assert walk.end - walk.start == 8 * HOUR


def test_a_crowded_window_is_cut_where_it_was_read_and_the_rest_narrowed() -> None:
    walk = WindowWalk(T0, T0 + 1000 * HOUR, 64 * HOUR)
    at = T0 + 8 * HOUR  # 8 pages read in the first 8 hours of a 64 h window
    assert walk.cut(at, pages=8)
    assert walk.start == at, "the unread part of the window must be read next"
    assert walk.end - walk.start == 4 * HOUR  # ~4 pages at the density read so far
    assert not walk.cut(at, pages=8), "nothing read past the start: nothing to cut"


def test_window_sizes_itself_to_a_few_pages_after_a_crowded_one() -> None:
    walk = WindowWalk(T0, T0 + 1000 * HOUR, 40 * HOUR)
    walk.complete(pages=40, rows=40_000)
    assert walk.end - walk.start == 4 * HOUR
