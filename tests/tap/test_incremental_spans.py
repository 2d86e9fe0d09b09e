"""A first incremental over a wide span reads several sub-spans of one entity at once, while
its bookmark only moves past what is written contiguously from the lower bound."""

from __future__ import annotations

import itertools
import typing as t
from datetime import UTC, datetime, timedelta

import pytest
from tap_helpers import base_config, run_tap, run_tap_and_kill

from tap_oracle_wms.windows import Coverage, SpanPlan, WindowWalk, plan_spans

sim_testing = pytest.importorskip("wms_simulator.testing")

T0 = datetime(2000, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = 24 * HOUR


def _tiles(spans: t.Sequence[tuple[datetime, datetime]], lower: datetime, upper: datetime) -> None:
    assert spans[0][0] == lower and spans[-1][1] == upper
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start, "a gap or an overlap between sub-spans"


def test_a_steady_state_run_stays_one_walk() -> None:
    """The every-2-hours run must not pay a request per sub-span."""
    horizon = T0 + 2 * HOUR
    assert plan_spans(T0, horizon, DAY, max_parts=16) is None
    assert plan_spans(T0, T0 + 4 * DAY, DAY, max_parts=16) is None, "a few windows: one walk"
    assert plan_spans(None, horizon, DAY, max_parts=16) is None, "no lower bound: open window"
    assert plan_spans(T0, T0 + 1000 * DAY, DAY, max_parts=1) is None


def test_a_wide_span_is_tiled_into_at_most_max_parts_sub_spans() -> None:
    horizon = datetime(2026, 11, 30, tzinfo=UTC)
    spans = plan_spans(T0, horizon, DAY, max_parts=16)
    assert spans is not None and len(spans) == 16
    _tiles(spans, T0, horizon)
    few = plan_spans(T0, T0 + 6 * DAY, DAY, max_parts=16)
    assert few is not None and len(few) == 6, "no sub-span narrower than one window"


def test_a_free_reader_steals_the_far_half_of_the_busiest_walk() -> None:
    plan = SpanPlan([(T0, T0 + 10 * DAY), (T0 + 10 * DAY, T0 + 100 * DAY)], DAY)
    first, second = plan.walks
    first.complete(pages=5)  # one day of the first read
    thief = plan.steal()
    assert thief is not None
    assert second.horizon == thief.start and thief.horizon == T0 + 100 * DAY
    assert second.end <= thief.start, "the window being read stays with its walk"
    assert not thief.open_end, "only the plan's last reader reads the open window"
    unread = sorted((w.start, w.horizon) for w in plan.walks)
    _tiles(unread, T0 + DAY, T0 + 100 * DAY)


def test_nothing_is_stolen_from_a_walk_near_its_end() -> None:
    plan = SpanPlan([(T0, T0 + DAY + HOUR)], DAY)
    assert plan.steal() is None


def test_the_open_window_goes_to_the_last_reader_to_finish() -> None:
    plan = SpanPlan([(T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 3 * DAY)],
                    DAY)
    assert plan.finish() is None and plan.finish() is None
    last = plan.finish()
    assert last is not None and (last.start, last.end) == (T0 + 3 * DAY, None)
    assert plan.finish() is None, "one open window per run"


def test_a_sub_span_walk_ends_at_its_horizon_without_an_open_window() -> None:
    walk = WindowWalk(T0, T0 + 3 * DAY, DAY, open_end=False)
    ends = []
    while not walk.done:
        ends.append(walk.complete(pages=3))  # neither sparse nor crowded: width stays
    assert ends == [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]


def test_the_bookmark_stops_at_the_earliest_unfinished_window() -> None:
    """Airbyte's concurrent cursor: windows finishing out of order move the bookmark only
    as far as the contiguous prefix from the lower bound."""
    cov = Coverage(T0)
    assert cov.add(T0 + 2 * DAY, T0 + 3 * DAY, "2000-01-03T12") is None, "a gap before it"
    assert cov.add(T0 + DAY, T0 + 2 * DAY, "2000-01-02T12") is None
    assert cov.add(T0, T0 + DAY, "2000-01-01T06") == "2000-01-03T12", "the gap filled"
    assert cov.add(T0 + 4 * DAY, None, "2000-01-05T01") == "2000-01-03T12", "open window early"
    assert cov.add(T0 + 3 * DAY, T0 + 4 * DAY, None) == "2000-01-05T01"


def test_no_lower_bound_is_one_open_window_that_moves_the_bookmark() -> None:
    cov = Coverage(None)
    assert cov.add(None, T0, "2000-01-01T00") == "2000-01-01T00"


@pytest.fixture
def slow_sim() -> t.Iterator[t.Any]:
    latency = {"per_request": 0.03, "per_record": 0.0005, "max_concurrent": 10}
    with sim_testing.running_simulator(scale=900, seed=23, latency=latency) as running:
        yield running


def _config(sim: t.Any) -> dict[str, t.Any]:
    return base_config(sim, entities=["allocation"], page_size=30, max_parallel_requests=3,
                       enable_incremental=True, start_date="2000-01-01T00:00:00+00:00")


def test_a_first_incremental_reads_one_entity_with_several_requests_at_once(slow_sim) -> None:
    run = run_tap(_config(slow_sim))
    assert run.returncode == 0, run.stderr[-2000:]
    stats = slow_sim.stats()
    assert 1 < stats["peak_concurrent"] <= 3, "one entity must be read more than one at a time"
    ids = run.ids("allocation")
    assert sorted(set(ids)) == sorted(slow_sim.store.ids("allocation")), "not exact"
    assert "sub-spans read at once" in run.stderr


def test_a_killed_first_incremental_resumes_from_its_bookmark_and_loses_nothing(
    slow_sim,
) -> None:
    config = _config(slow_sim)
    killed = run_tap_and_kill(config, after_states=4)
    state = killed.last_state
    assert state is not None
    resumed = run_tap(config, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ids = set(killed.ids("allocation")) | set(resumed.ids("allocation"))
    assert ids == set(slow_sim.store.ids("allocation")), "a row lost across the kill"
