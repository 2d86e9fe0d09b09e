"""The `mod_ts` windows of an incremental run: bounded queries instead of one unbounded sort.

One query `mod_ts__gte=<two years ago>&ordering=mod_ts` timed out five times in a row on a
production tenant: the server sorts the whole match on every page. So an incremental run
walks `[start, end)` windows (`mod_ts__gte` / `mod_ts__lt`), each read in `id` order (keyset,
cheap at any depth), from the lower bound up to a horizon a little before the run start;
a last, open window reads what changed since (rows committed during the run are read again
next time through the lookback).

The width adapts: it doubles after a window that fit in a page or two (sparse history, e.g.
a first run from an old start_date), halves for the next window after one that took many
pages, and halves *the current window* when the server answers it with a 504 or a timeout
before any of its rows were read. The bookmark may only move to the end of a completed
window: rows inside one arrive in id order, not mod_ts order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

GROW_BELOW_PAGES = 2
SHRINK_ABOVE_PAGES = 20
MIN_WIDTH = timedelta(minutes=1)


class WindowWalk:
    """The current window and the rules that move it; one per entity and run."""

    def __init__(
        self,
        lower: datetime | None,
        horizon: datetime,
        width: timedelta,
        *,
        min_width: timedelta = MIN_WIDTH,
    ) -> None:
        self.horizon = horizon
        self.width = max(width, min_width)
        self.min_width = min_width
        self.start = lower
        self.end: datetime | None = self._end_after(lower)
        self.done = False

    def _end_after(self, start: datetime | None) -> datetime | None:
        if start is None or start >= self.horizon:
            return None  # the open window: everything from `start` on
        return min(start + self.width, self.horizon)

    @property
    def bounded(self) -> bool:
        return self.end is not None

    def shrink(self) -> bool:
        """Halve the current window (before any of its rows were read); False at the floor
        or when there is no lower bound to halve from."""
        if self.start is None:
            return False
        width = (self.end - self.start) if self.end is not None else self.width
        half = width / 2
        if half < self.min_width:
            return False
        self.width = half
        self.end = self.start + half
        return True

    def complete(self, pages: int) -> datetime | None:
        """The window was read to its end: move on. Returns the instant the bookmark may
        move to (the window's end), or None for the open window, which ends the walk."""
        end = self.end
        if end is None:
            self.done = True
            return None
        if pages <= GROW_BELOW_PAGES:
            self.width *= 2
        elif pages > SHRINK_ABOVE_PAGES:
            self.width = max(self.width / 2, self.min_width)
        self.start = end
        self.end = self._end_after(end)
        return end
