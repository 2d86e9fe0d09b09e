"""Id range planning and the per-range progress STATE holds."""

from __future__ import annotations

import itertools

import pytest

from tap_oracle_wms.partitions import (
    partition_count,
    plan_ranges,
    range_params,
    ranges_from_state,
)


def _owner(ranges: list, rid: int) -> list:
    hits = [
        r for r in ranges
        if (r[0] is None or rid >= r[0]) and (r[1] is None or rid < r[1])
    ]
    assert len(hits) == 1, (rid, ranges)
    return hits[0]


@pytest.mark.parametrize(("low", "high", "parts"), [(1, 100, 4), (7, 7_000_003, 16), (5, 9, 8)])
def test_ranges_cover_every_id_once_and_stay_open_at_both_ends(low, high, parts) -> None:
    ranges = plan_ranges(low, high, parts=parts)
    assert len(ranges) == min(parts, high - low + 1)
    assert ranges[0][0] is None and ranges[-1][1] is None  # rows beyond the bounds are read
    for rid in (low - 1000, low, (low + high) // 2, high, high + 10**6):
        _owner(ranges, rid)
    for left, right in itertools.pairwise(ranges):
        assert left[1] == right[0]


def test_empty_entity_is_one_open_range() -> None:
    assert plan_ranges(None, None, parts=8) == [[None, None, None]]
    assert partition_count(None, None, min_ids=10, max_parts=8) == 1


def test_partition_count_is_bounded_by_width_and_workers() -> None:
    assert partition_count(1, 1_000, min_ids=5_000, max_parts=8) == 1
    assert partition_count(1, 20_000, min_ids=5_000, max_parts=8) == 4
    assert partition_count(1, 2_000_000, min_ids=5_000, max_parts=8) == 8


def test_a_range_resumes_after_its_last_written_id() -> None:
    assert range_params([10, 20, None]) == {"id__gte": 10, "id__lt": 20}
    assert range_params([10, 20, 15]) == {"id__gt": 15, "id__lt": 20}
    assert range_params([None, None, None]) == {}


def test_state_of_earlier_releases_resumes_as_one_open_range() -> None:
    assert ranges_from_state({"last_id": 42, "version": 1}) == [[None, None, 42]]
    assert ranges_from_state({"ranges": [[None, 5, 3]], "version": 1}) == [[None, 5, 3]]
    assert ranges_from_state({"ranges": [], "version": 1}) == []  # all read: nothing left
    assert ranges_from_state({}) is None
