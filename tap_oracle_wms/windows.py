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

A wide span (a first run from an old start_date) is split into sub-spans read at once
(`plan_spans`, `SpanPlan`), like the full sync's id ranges: each its own walk, and a reader
whose sub-span is done takes the far half of the busiest one's unread part, since changes
crowd into a few months of a decades-wide span. The open window is read once every
sub-span is. The bookmark is the newest value written below the first unwritten instant
(`Coverage`: the earliest unfinished sub-span bounds it, as in Airbyte's concurrent cursor).
"""

from __future__ import annotations

import itertools
import threading
import typing as t
from datetime import datetime, timedelta

GROW_BELOW_PAGES = 2
#: Pages a window should take: the server sorts the window's rows on every page, so a
#: window's cost grows with the square of its size.
TARGET_PAGES = 4
#: A window still going after this many pages is cut where it is read (see `cut`).
CUT_AFTER_PAGES = 2 * TARGET_PAGES
MIN_WIDTH = timedelta(minutes=1)
#: A span is split only when wider than this many initial windows: a steady-state run
#: (hours of changes) stays one walk, one request when little changed.
SPLIT_AFTER_WIDTHS = 4


class WindowWalk:
    """The current window and the rules that move it; one per entity and run."""

    def __init__(
        self,
        lower: datetime | None,
        horizon: datetime,
        width: timedelta,
        *,
        min_width: timedelta = MIN_WIDTH,
        open_end: bool = True,
    ) -> None:
        self.horizon = horizon
        self.open_end = open_end  # False: a sub-span, done at its horizon
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
        if start is not None and start >= self.horizon and not self.open_end:
            self.done = True
            return None
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
        self._grow(pages, rows)
        self.start = end
        self.end = self._end_after(end)
        return end

    def _grow(self, pages: int, rows: int) -> None:
        if rows == 0:
            self._cap = None  # a sparse stretch: what failed in a dense one may pass here
            self.width *= 2
        elif pages <= GROW_BELOW_PAGES:
            if self._cap is None or self.width * 2 < self._cap:
                self.width *= 2
        elif pages > TARGET_PAGES:
            self.width = max(self.width * TARGET_PAGES / pages, self.min_width)

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


def plan_spans(
    lower: datetime | None, horizon: datetime, width: timedelta, *, max_parts: int
) -> list[tuple[datetime, datetime]] | None:
    """Equal sub-spans tiling `[lower, horizon)`, one per initial window width, at most
    `max_parts`; None when the span is not worth splitting (no lower bound, or not wider
    than `SPLIT_AFTER_WIDTHS` windows: one walk costs fewer requests)."""
    if lower is None or max_parts <= 1 or horizon - lower <= SPLIT_AFTER_WIDTHS * width:
        return None
    parts = min(max_parts, int((horizon - lower) / width))
    step = (horizon - lower) / parts
    cuts = [lower + step * i for i in range(1, parts)]
    bounds = [lower, *cuts, horizon]
    return list(itertools.pairwise(bounds))


class SpanPlan:
    """The sub-spans of one entity's run, shared by its readers (each on its own worker
    thread, hence the lock: a walk is moved and stolen from under it)."""

    def __init__(
        self, spans: t.Sequence[tuple[datetime, datetime]], width: timedelta,
        *, min_width: timedelta = MIN_WIDTH,
    ) -> None:
        self.lock = threading.Lock()
        self.horizon = spans[-1][1]
        self.width = width
        self.min_width = min_width
        self.walks = [WindowWalk(s, e, width, min_width=min_width, open_end=False)
                      for s, e in spans]
        self._busy = len(self.walks)  # readers not finished: one per initial walk
        self._open_taken = False

    def steal(self) -> WindowWalk | None:
        """A new walk over the far half of the unread part of the busiest walk (the caller's
        own walk is done). None when no walk has two windows' worth left to read."""
        with self.lock:
            best: WindowWalk | None = None
            for walk in self.walks:
                if walk.done or walk.end is None:
                    continue
                if best is None or walk.horizon - walk.end > best.horizon - best.end:  # type: ignore[operator]
                    best = walk
            if best is None or best.end is None:
                return None
            left = best.horizon - best.end
            if left < 2 * max(best.width, self.min_width):
                return None
            cut = best.end + left / 2
            thief = WindowWalk(cut, best.horizon, best.width, min_width=self.min_width,
                               open_end=False)
            best.horizon = cut
            self.walks.append(thief)
            return thief

    def finish(self) -> WindowWalk | None:
        """A reader has nothing left to read or steal. The last one gets the open window
        past the horizon, so it is read after every sub-span (a row changed meanwhile has
        moved past the horizon and is read there)."""
        with self.lock:
            self._busy -= 1
            if self._busy > 0 or self._open_taken:
                return None
            self._open_taken = True
            return WindowWalk(self.horizon, self.horizon, self.width, min_width=self.min_width)


class Coverage:
    """Which part of `[lower, ...)` is written, from the windows the writer completed, and
    the newest value written inside the part contiguous from `lower`: the bookmark.

    Windows complete out of order when sub-spans are read at once; the earliest unfinished
    one bounds the bookmark, so a resumed run re-reads from there (re-reading later windows
    that completed is harmless: the target's merge is idempotent)."""

    def __init__(self, lower: datetime | None) -> None:
        self.through = lower  # every row with a value below this is written
        self.open = lower is None  # the open window from `lower` itself: nothing bounds it
        self.newest: t.Any = None
        self._pending: dict[datetime | None, tuple[datetime | None, t.Any]] = {}

    def add(self, start: datetime | None, end: datetime | None, newest: t.Any) -> t.Any:
        """A window `[start, end)` (end None: open) is written, its newest value `newest`
        (None if empty). Returns the bookmark: the newest value of the contiguous part."""
        if self.open:
            self._raise(newest)
            return self.newest
        self._pending[start] = (end, newest)
        while self.through in self._pending:
            end, value = self._pending.pop(self.through)
            self._raise(value)
            if end is None:
                self.open = True
                break
            self.through = end
        return self.newest

    def _raise(self, value: t.Any) -> None:
        if value is not None and (self.newest is None or value > self.newest):
            self.newest = value
