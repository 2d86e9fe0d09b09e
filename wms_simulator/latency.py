"""Production latency, opt-in: what a real tenant charges per request, and how many it serves.

Production tenants (wms-api.md, "Observed on production tenants") cost ~1 s plus 15-20 ms per
record per page, sort the whole match on every page of a query not ordered by ``id``, cut calls
off at the gateway after 5 minutes with an HTML 504, and serve from a shared tier of bounded
capacity. Without that, the local simulator answers in microseconds and no tap strategy
(parallel readers, id partitions, bounded mod_ts windows) can be told apart from another.

The profile is immutable and swapped whole, so a request reads one consistent profile even if
``/_sim/latency`` changes it meanwhile. Sleeping happens inside the ``ConcurrencyGate`` only,
never under another lock: the server is threaded and the other requests must keep flowing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

KEYS = ("per_request", "per_record", "sort_per_row", "gateway_seconds", "max_concurrent")


class LatencyConfigError(ValueError):
    """A latency profile the simulator cannot apply (unknown key, negative or non-numeric)."""


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LatencyConfigError(f"latency {key} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise LatencyConfigError(f"latency {key} must be >= 0 seconds, got {value!r}")
    return float(value)


class PageCost(NamedTuple):
    """What a list page's cost depends on, known once the page is computed."""

    records: int  # on the page
    matched: int  # rows matching the filters (counted only when an off-id sort is charged)
    by_id: bool  # ordered by id (or not at all): no per-page sort


def by_id(ordering: list[tuple[str, bool]]) -> bool:
    """Absent ordering is storage (id) order; ``id``/``-id`` first is an index walk, not a sort."""
    return not ordering or ordering[0][0] == "id"


@dataclass(frozen=True)
class LatencyProfile:
    """Seconds charged per request / per record / per sorted matching row, and the limits.

    ``gateway_seconds`` and ``max_concurrent`` of None mean "no limit" (0 is read as None).
    """

    per_request: float = 0.0
    per_record: float = 0.0
    sort_per_row: float = 0.0
    gateway_seconds: float | None = None
    max_concurrent: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> LatencyProfile:
        """Validate a JSON object / kwargs; anything omitted takes its instant default."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise LatencyConfigError(
                f"unknown latency key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}"
            )
        costs = {
            k: _seconds(k, data[k])
            for k in ("per_request", "per_record", "sort_per_row")
            if data.get(k) is not None
        }
        gateway = data.get("gateway_seconds")
        gateway = _seconds("gateway_seconds", gateway) if gateway is not None else None
        limit = data.get("max_concurrent")
        whole = isinstance(limit, int) and not isinstance(limit, bool)
        if limit is not None and not (whole and limit >= 0):
            raise LatencyConfigError(
                f"latency max_concurrent must be a whole number >= 0, got {limit!r}"
            )
        return cls(**costs, gateway_seconds=gateway or None, max_concurrent=limit or None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def instant(self) -> bool:
        return not (self.per_request or self.per_record or self.sort_per_row)

    def cost(self, page: PageCost | None) -> float:
        """Seconds a request costs: the request, a list page's records, off-id sorting the match."""
        if page is None:
            return self.per_request
        sort = 0.0 if page.by_id else self.sort_per_row * page.matched
        return self.per_request + self.per_record * page.records + sort

    def over_gateway(self, cost: float) -> bool:
        return self.gateway_seconds is not None and cost > self.gateway_seconds


class ConcurrencyGate:
    """A resizable semaphore that also remembers the most requests it has let in at once.

    ``threading.Semaphore`` cannot change its size while requests hold it; a limit set at run
    time (``/_sim/latency``) must apply to the next request without losing count of those
    already inside.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._cond = threading.Condition()
        self._limit = limit
        self.active = 0
        self.peak = 0

    def resize(self, limit: int | None) -> None:
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self._limit is not None and self.active >= self._limit:
                self._cond.wait()
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self._cond:
                self.active -= 1
                self._cond.notify()

    def reset_peak(self) -> None:
        """Start a new measurement: the peak becomes what is in flight right now."""
        with self._cond:
            self.peak = self.active


def pay(seconds: float) -> None:
    """Spend ``seconds`` of simulated server time (the caller holds its gate slot)."""
    if seconds > 0:
        time.sleep(seconds)
