"""How many requests the run may have in flight: an adaptive (AIMD) limit shared by every
request of the run, discovery included.

The WMS application tier that answers us also serves the warehouse floor, and no rate limit
is published: the only signals that we ask too much are 429, 503, 504 and timeouts. On one of
them the limit halves (once per "round": answers to requests sent before the cut do not cut
again, or one burst of eight 504s would take 8 to 1 in a single step) and new requests wait
out any Retry-After. After a round of healthy answers at the current limit it grows by one,
so a server that recovers gets its parallelism back slowly, never in one jump.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from contextlib import contextmanager

logger = logging.getLogger("tap-oracle-wms")

OK, OVERLOAD, NEUTRAL = "ok", "overload", "neutral"


class Slot:
    """One request's hold on the limiter; its outcome steers the limit."""

    def __init__(self, ticket: int) -> None:
        self.ticket = ticket
        self.outcome = NEUTRAL
        self.retry_after: float | None = None
        self.reason = ""

    def ok(self) -> None:
        self.outcome = OK

    def overload(self, reason: str, retry_after: float | None = None) -> None:
        self.outcome = OVERLOAD
        self.reason = reason
        self.retry_after = retry_after


class AdaptiveLimiter:
    """At most `limit` requests at once, `1 <= limit <= ceiling`; thread-safe."""

    def __init__(
        self, ceiling: int, *, clock: t.Callable[[], float] = time.monotonic
    ) -> None:
        self.ceiling = max(1, int(ceiling))
        self.limit = self.ceiling
        self.in_flight = 0
        self.peak = 0
        self.cuts = 0
        self._clock = clock
        self._cond = threading.Condition()
        self._issued = 0  # tickets handed out
        self._cut_at = 0  # requests issued before this ticket do not cut again
        self._healthy = 0
        self._resume_at = 0.0

    def acquire(self) -> Slot:
        with self._cond:
            while True:
                wait = self._resume_at - self._clock()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                if self.in_flight < self.limit:
                    break
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._issued += 1
            return Slot(self._issued)

    def release(self, slot: Slot) -> None:
        with self._cond:
            self.in_flight -= 1
            if slot.outcome == OVERLOAD:
                self._on_overload(slot)
            elif slot.outcome == OK:
                self._healthy += 1
                if self._healthy >= self.limit and self.limit < self.ceiling:
                    self._healthy = 0
                    self.limit += 1
                    logger.info("WMS healthy again: up to %d requests in flight", self.limit)
            self._cond.notify_all()

    def _on_overload(self, slot: Slot) -> None:
        self._healthy = 0
        if slot.retry_after:
            self._resume_at = max(self._resume_at, self._clock() + slot.retry_after)
        if slot.ticket <= self._cut_at:
            return  # sent before the last cut: that cut already answered this overload
        self._cut_at = self._issued
        before, self.limit = self.limit, max(1, self.limit // 2)
        self.cuts += 1
        logger.warning(
            "WMS overloaded (%s): requests in flight %d -> %d%s",
            slot.reason,
            before,
            self.limit,
            f", pausing {slot.retry_after:.1f}s (Retry-After)" if slot.retry_after else "",
        )

    @contextmanager
    def slot(self) -> t.Iterator[Slot]:
        held = self.acquire()
        try:
            yield held
        finally:
            self.release(held)
