"""The `mod_ts` windows of an incremental run: bounded queries instead of one unbounded sort.

One query `mod_ts__gte=<two years ago>&ordering=mod_ts` timed out five times in a row on a
production tenant: the server sorts the whole match on every page. So an incremental run
walks `[start, end)` windows (`mod_ts__gte` / `mod_ts__lt`) from the lower bound up to a
horizon a little before the run start, then one open window for what changed since. Each
window is read in `mod_ts,id` order, so a row changed while the run reads moves ahead of the
cursor and is read later in the run (id order would lose it); the sort is paid over the
window's rows only, and the width keeps that small.

The width adapts: it halves *the current window* when the server answers it with a 504 or a
timeout before any of its rows were read, and never grows back to a width that failed while
windows keep finding rows; it doubles after a window that fit in a page or two (sparse
history, e.g. a first run from an old start_date; an empty window lifts the cap), and halves
for the next window after one that took many pages. The bookmark moves only when a window
is complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta

GROW_BELOW_PAGES = 2
#: Pages a window should take: the server sorts the window's rows on every page, so a
#: window's cost grows with the square of its size.
TARGET_PAGES = 4
#: A window still going after this many pages is cut where it is read (see `cut`).
CUT_AFTER_PAGES = 2 * TARGET_PAGES
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
        self._cap: timedelta | None = None  # a width the server could not answer

    def slow(self) -> None:
        """A page of this window took too long: the next windows are narrower."""
        self.width = max(self.width / 2, self.min_width)

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
        self._cap = width
        self.width = half
        self.end = self.start + half
        return True

    def complete(self, pages: int, rows: int = 1) -> datetime | None:
        """The window was read to its end: move on. Returns the window's end, or None for
        the open window, which ends the walk."""
        end = self.end
        if end is None:
            self.done = True
            return None
        if rows == 0:
            self._cap = None  # a sparse stretch: what failed in a dense one may pass here
            self.width *= 2
        elif pages <= GROW_BELOW_PAGES:
            if self._cap is None or self.width * 2 < self._cap:
                self.width *= 2
        elif pages > TARGET_PAGES:
            self.width = max(self.width * TARGET_PAGES / pages, self.min_width)
        self.start = end
        self.end = self._end_after(end)
        return end

    def cut(self, at: datetime, pages: int) -> bool:
        """A crowded window, read in `mod_ts` order up to `at` after `pages` pages: end it
        there and go on from `at` in narrower windows (sized by the density read so far).
        Every row before `at` was read, so this is a completed window; rows *at* `at` come
        again in the next one. False when nothing can be cut (all read rows share `at`)."""
        if self.start is None or at <= self.start or (self.end is not None and at >= self.end):
            return False
        self.width = max((at - self.start) * TARGET_PAGES / max(pages, 1), self.min_width)
        self.start = at
        self.end = self._end_after(at)
        return True
