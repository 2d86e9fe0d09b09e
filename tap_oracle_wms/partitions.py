"""Id ranges of a full snapshot, and their progress as it travels in STATE.

A large entity is read as several `id` ranges at once, each with keyset paging
(`ordering=id`) inside it. Bounds come from two one-row queries (`ordering=id` and
`ordering=-id`, `page_size=1`): cheap at any table size, unlike a count. The first range is
open below and the last open above, so rows inserted while the snapshot runs, beyond the
bounds seen at planning, are still read.

In STATE a snapshot is the list of its *unfinished* ranges, each `[gte, lt, after]`
(`None`: open; `after`: the last id written, resume with `id__gt`). A finished range
leaves the list, so a resumed run never reads it again.
"""

from __future__ import annotations

import math
import typing as t

#: A range: [gte, lt, after]; a list so progress can be updated in place, as STATE holds it.
Range = list


def plan_ranges(low: int | None, high: int | None, *, parts: int) -> list[Range]:
    """`parts` ranges of about equal id span covering [low, high], open at both ends.

    `low`/`high` None (an empty entity) gives one open range, which reads whatever is
    there by the time it runs.
    """
    if low is None or high is None or parts <= 1 or high <= low:
        return [[None, None, None]]
    span = high - low + 1
    parts = min(parts, span)
    cuts = [low + math.ceil(span * i / parts) for i in range(1, parts)]
    bounds: list[int | None] = [None, *cuts, None]
    return [[bounds[i], bounds[i + 1], None] for i in range(parts)]


def partition_count(low: int | None, high: int | None, *, min_ids: int, max_parts: int) -> int:
    """As many ranges as keep every worker busy, but none under `min_ids` ids wide: a range
    costs at least one request, and a narrow one buys no parallelism worth that."""
    if low is None or high is None:
        return 1
    span = high - low + 1
    return max(1, min(max_parts, span // max(1, min_ids)))


def range_params(rng: Range) -> dict[str, t.Any]:
    """The id filters reading what is left of a range."""
    gte, lt, after = rng
    params: dict[str, t.Any] = {}
    if after is not None:
        params["id__gt"] = after
    elif gte is not None:
        params["id__gte"] = gte
    if lt is not None:
        params["id__lt"] = lt
    return params


def ranges_from_state(progress: t.Mapping[str, t.Any]) -> list[Range] | None:
    """The unfinished ranges of an interrupted snapshot (None: nothing to resume).

    Reads the one-reader form of earlier releases (`last_id`) as one open range.
    """
    ranges = progress.get("ranges")
    if isinstance(ranges, list):
        return [list(r) for r in ranges if isinstance(r, list) and len(r) == 3]
    if "last_id" in progress or "version" in progress:
        return [[None, None, progress.get("last_id")]]
    return None


def describe_range(rng: Range) -> str:
    gte, lt, after = rng
    low = f"id>{after}" if after is not None else (f"id>={gte}" if gte is not None else "")
    high = f"id<{lt}" if lt is not None else ""
    return " ".join(p for p in (low, high) if p) or "all ids"
