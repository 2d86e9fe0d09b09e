"""Sequential readers of one query each, which the fetcher's workers advance page by page.

A reader knows where it is (an id position, a window) and so can always rebuild its query
from that position: it follows the server's `next_page` verbatim while all is well, and
rebuilds (dropping the cursor) when its page size or window has to change. Readers are
driven by one worker at a time (the fetcher never has two requests of one reader in flight).
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass
from datetime import datetime

from tap_oracle_wms.client import WMSRequestError
from tap_oracle_wms.partitions import Range, describe_range, range_params
from tap_oracle_wms.records import to_utc, utc_text
from tap_oracle_wms.windows import CUT_AFTER_PAGES, WindowWalk

logger = logging.getLogger("tap-oracle-wms")

MIN_PAGE_SIZE = 10
GROW_AFTER_PAGES = 4


@dataclass
class Page:
    """A fetched page, for the writer thread. `last`: the reader has nothing more.
    `window_end`: set on the last page of a completed bounded `mod_ts` window."""

    results: list[dict[str, t.Any]]
    last: bool
    window_end: datetime | None = None
    window_closed: bool = False


class PageSizer:
    """Page size that halves when the server struggles and grows back slowly."""

    def __init__(self, size: int, slow_seconds: float) -> None:
        self.target = size
        self.size = size
        self.slow_seconds = slow_seconds
        self._healthy = 0

    def shrink(self) -> bool:
        if self.size <= MIN_PAGE_SIZE:
            return False
        self.size = max(MIN_PAGE_SIZE, self.size // 2)
        self._healthy = 0
        return True

    def after_page(self, seconds: float) -> bool:
        """True when the size changed. A page that took over half the read timeout is a
        warning: shrink before the next one crosses the gateway's limit."""
        if seconds > self.slow_seconds:
            return self.shrink()
        self._healthy += 1
        if self.size < self.target and self._healthy >= GROW_AFTER_PAGES:
            self._healthy = 0
            self.size = min(self.target, self.size * 2)
            return True
        return False


class KeysetReader:
    """Common part: `ordering=id`, filters of the subclass, id keyset position."""

    def __init__(
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str
    ) -> None:
        self.url = url
        self.params = dict(params)
        self.sizer = sizer
        self.label = label
        self.after: t.Any = None
        self.next_url: str | None = None
        self._seen: set[str] = set()

    ordering = "id"

    def filters(self) -> dict[str, t.Any]:
        """The query's filters from the reader's position."""
        raise NotImplementedError

    def position_of(self, record: t.Mapping[str, t.Any]) -> t.Any:
        return record["id"]

    def request(self) -> tuple[str, dict[str, t.Any] | None]:
        if self.next_url:
            return self.next_url, None
        params = {**self.params, "ordering": self.ordering, "page_size": self.sizer.size}
        params.update(self.filters())
        return self.url, params

    def shrink(self) -> bool:
        if self.sizer.shrink():
            self.next_url = None
            logger.warning("%s: page size down to %d", self.label, self.sizer.size)
            return True
        return False

    def _follow(self, payload: t.Any, seconds: float) -> tuple[list[dict[str, t.Any]], bool]:
        """Records of the page and whether the query has more."""
        if payload is None:  # 404: the filter matched nothing
            self.next_url = None
            return [], False
        results = payload.get("results", []) if isinstance(payload, dict) else payload
        if results:
            self.after = self.position_of(results[-1])
        token = payload.get("next_page") if isinstance(payload, dict) else None
        if token and token in self._seen:
            msg = f"Pagination loop on {self.label}: next_page repeats {token}"
            raise WMSRequestError(msg)
        if token:
            self._seen.add(token)
        self.next_url = token or None
        if self.sizer.after_page(seconds):
            self.next_url = None  # rebuild with the new size from the id position
        return results, bool(token)


class RangeReader(KeysetReader):
    """One id range of a full snapshot."""

    def __init__(
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str,
        rng: Range,
    ) -> None:
        super().__init__(url, params, sizer, f"{label} ({describe_range(rng)})")
        self.range = rng  # the STATE entry; the writer updates it, the reader only reads
        self.after = rng[2]

    def filters(self) -> dict[str, t.Any]:
        return range_params([self.range[0], self.range[1], self.after])

    def advance(self, payload: t.Any, seconds: float) -> Page:
        results, more = self._follow(payload, seconds)
        return Page(results, last=not more)


class WindowReader(KeysetReader):
    """An entity's `mod_ts` windows, one after the other, `mod_ts,id` order inside each.

    Its position inside a window is the last `mod_ts` read: a rebuilt query (smaller page)
    starts again at that instant, re-reading its ties, which the target's merge absorbs."""

    def __init__(
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str,
        key: str, walk: WindowWalk,
    ) -> None:
        super().__init__(url, params, sizer, label)
        self.key = key
        self.ordering = f"{key},id"
        self.walk = walk
        self._pages = 0
        self._rows = 0
        self._fresh = True  # no row of the current window read yet

    def position_of(self, record: t.Mapping[str, t.Any]) -> t.Any:
        return record.get(self.key)

    def _cut_at(self, value: t.Any) -> bool:
        try:
            at = datetime.fromisoformat(to_utc(str(value)))
        except ValueError:
            return False
        return self.walk.cut(at, self._pages)

    def filters(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {}
        if self.after is not None:
            out[f"{self.key}__gte"] = self.after
        elif self.walk.start is not None:
            out[f"{self.key}__gte"] = utc_text(self.walk.start)
        if self.walk.end is not None:
            out[f"{self.key}__lt"] = utc_text(self.walk.end)
        return out

    def shrink(self) -> bool:
        if self._fresh and self.walk.shrink():
            self.next_url = None
            logger.warning(
                "%s: window down to %s from %s", self.label, self.walk.width, self.walk.start
            )
            return True
        return super().shrink()

    def advance(self, payload: t.Any, seconds: float) -> Page:
        size = self.sizer.size
        results, more = self._follow(payload, seconds)
        if self.sizer.size < size:  # slow: the sort is over the window's rows, narrow it
            self.walk.slow()
        self._pages += 1
        self._rows += len(results)
        self._fresh = False
        if more and self._pages >= CUT_AFTER_PAGES and results and self._cut_at(self.after):
            logger.info(
                "%s: crowded window cut at %s after %d pages; windows of %s from there",
                self.label, self.after, self._pages, self.walk.width,
            )
            self._pages = self._rows = 0
            self._fresh = True  # a 504 on the narrower window halves it again
            self.next_url = None  # rebuilt from `after` (ties at that instant come again)
            return Page(results, last=False, window_closed=True)
        if more:
            return Page(results, last=False)
        end = self.walk.complete(self._pages, self._rows)
        self._pages = self._rows = 0
        self._fresh = True
        self.after = None
        self.next_url = None
        return Page(results, last=self.walk.done, window_end=end, window_closed=True)
