"""Sequential readers of one query each, which the fetcher's workers advance page by page.

A reader knows where it is (an id position, a window) and so can always rebuild its query
from that position: it follows the server's `next_page` verbatim while all is well, and
rebuilds (dropping the cursor) when its page size or window has to change, or when the link
names another origin than base_url's (`links.py`: credentials never leave the tenant). Readers are
driven by one worker at a time (the fetcher never has two requests of one reader in flight).
"""

from __future__ import annotations

import contextlib
import logging
import typing as t
from dataclasses import dataclass
from datetime import datetime

from tap_oracle_wms.client import WMSRequestError
from tap_oracle_wms.links import LinkCheck
from tap_oracle_wms.partitions import Range, describe_range, range_params
from tap_oracle_wms.records import to_utc, utc_text
from tap_oracle_wms.windows import CUT_AFTER_PAGES, SpanPlan, WindowWalk

logger = logging.getLogger("tap-oracle-wms")

MIN_PAGE_SIZE = 10
GROW_AFTER_PAGES = 4


@dataclass
class Page:
    """A fetched page, for the writer thread. `last`: the reader has nothing more.
    `window_closed`: the last page of a `mod_ts` window `[window_start, window_end)` (end
    None: the open window), all of whose rows the reader has now read."""

    results: list[dict[str, t.Any]]
    last: bool
    window_end: datetime | None = None
    window_closed: bool = False
    window_start: datetime | None = None


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
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str,
        links: LinkCheck | None = None,
    ) -> None:
        self.url = url
        self.params = dict(params)
        self.sizer = sizer
        self.label = label
        self.links = links or LinkCheck(url)
        self.after: t.Any = None
        self.next_url: str | None = None
        self._seen: set[str] = set()
        self._refused_at: t.Any = None  # position when a foreign link was last refused

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
        before = self.after
        if results:
            self.after = self.position_of(results[-1])
        token = payload.get("next_page") if isinstance(payload, dict) else None
        if token and not isinstance(token, str):
            token = None  # not a link at all: the page is the query's last
        if token and token in self._seen:
            msg = f"Pagination loop on {self.label}: next_page repeats {token}"
            raise WMSRequestError(msg)
        if token:
            self._seen.add(token)
        self.next_url = token or None
        if token and not self.links.follows(token, self.label):
            self._refused(before)
            self.next_url = None  # rebuild from the position, on base_url
        if self.sizer.after_page(seconds):
            self.next_url = None  # rebuild with the new size from the id position
        return results, bool(token)

    def _refused(self, before: t.Any) -> None:
        """A rebuilt query that brought the reader no further (a page of rows that all share
        one `mod_ts`) would be asked forever: only the refused link could go on."""
        if self.after is not None and self.after == before == self._refused_at:
            msg = (
                f"{self.label}: more than a page of rows at position {self.after} and the "
                "server's next_page names another origin, which is never requested; fix the "
                "proxy or gateway that rewrites WMS links, or raise page_size"
            )
            raise WMSRequestError(msg)
        self._refused_at = self.after


class RangeReader(KeysetReader):
    """One id range of a full snapshot."""

    def __init__(
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str,
        rng: Range, links: LinkCheck | None = None,
    ) -> None:
        super().__init__(url, params, sizer, f"{label} ({describe_range(rng)})", links)
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
    starts again at that instant, re-reading its ties, which the target's merge absorbs.

    With a `plan` (a wide span split into sub-spans) its first request asks, in cheap `id`
    order, whether the sub-span holds any row at all (an empty one costs that one 404);
    when its walk is done it steals from the plan, and the plan hands the last reader the
    open window."""

    def __init__(
        self, url: str, params: t.Mapping[str, t.Any], sizer: PageSizer, label: str,
        key: str, walk: WindowWalk, plan: SpanPlan | None = None,
        links: LinkCheck | None = None,
    ) -> None:
        super().__init__(url, params, sizer, label, links)
        self.key = key
        self.walk = walk
        self.plan = plan
        self._probe = plan is not None
        self._pages = 0
        self._rows = 0
        self._fresh = True  # no row of the current window read yet

    @property
    def ordering(self) -> str:  # type: ignore[override]
        return "id" if self._probe else f"{self.key},id"

    def position_of(self, record: t.Mapping[str, t.Any]) -> t.Any:
        value = record.get(self.key)
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return self.after  # not an instant (the record goes out as sent): keep the last
        return value

    def _cut_at(self, value: t.Any) -> bool:
        try:
            at = datetime.fromisoformat(to_utc(str(value)))
        except ValueError:
            return False
        with self._locked():
            return self.walk.cut(at, self._pages)

    def _locked(self) -> t.ContextManager[t.Any]:
        """The plan's lock: another reader may steal from this walk meanwhile."""
        return self.plan.lock if self.plan is not None else contextlib.nullcontext()

    def request(self) -> tuple[str, dict[str, t.Any] | None]:
        if self._probe:
            params = {**self.params, "ordering": "id", "page_size": 1}
            return self.url, {**params, **self.filters()}
        return super().request()

    def filters(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {}
        if self.after is not None:
            out[f"{self.key}__gte"] = self.after
        elif self.walk.start is not None:
            out[f"{self.key}__gte"] = utc_text(self.walk.start)
        end = self.walk.horizon if self._probe else self.walk.end
        if end is not None:
            out[f"{self.key}__lt"] = utc_text(end)
        return out

    def shrink(self) -> bool:
        if self._probe:
            return False  # an id-ordered page of one row: nothing smaller to ask
        with self._locked():
            shrunk = self._fresh and self.walk.shrink()
        if shrunk:
            self.next_url = None
            logger.warning(
                "%s: window down to %s from %s", self.label, self.walk.width, self.walk.start
            )
            return True
        return super().shrink()

    def _after_probe(self, payload: t.Any) -> Page:
        self._probe = False
        self.next_url = None
        if _results(payload):
            return Page([], last=False)  # rows there: walk the sub-span in mod_ts order
        with self._locked():
            start, end = self.walk.start, self.walk.horizon
            self.walk.done = True
        return self._next_walk(Page([], last=False, window_start=start, window_end=end,
                                    window_closed=True))

    def _next_walk(self, page: Page) -> Page:
        """This walk is done: steal, or take the open window if the plan says so, or end."""
        if self.plan is None:
            page.last = True
            return page
        walk = self.plan.steal()
        if walk is not None:
            self._probe = True  # the stolen half may hold nothing: one 404 says so
        else:
            walk = self.plan.finish()
        if walk is None:
            page.last = True
        else:
            self.walk = walk
        return page

    def advance(self, payload: t.Any, seconds: float) -> Page:
        if self._probe:
            return self._after_probe(payload)
        size = self.sizer.size
        results, more = self._follow(payload, seconds)
        if self.sizer.size < size:  # slow: the sort is over the window's rows, narrow it
            with self._locked():
                self.walk.slow()
        self._pages += 1
        self._rows += len(results)
        self._fresh = False
        start = self.walk.start
        if more and self._pages >= CUT_AFTER_PAGES and results and self._cut_at(self.after):
            logger.info(
                "%s: crowded window cut at %s after %d pages; windows of %s from there",
                self.label, self.after, self._pages, self.walk.width,
            )
            self._pages = self._rows = 0
            self._fresh = True  # a 504 on the narrower window halves it again
            self.next_url = None  # rebuilt from `after` (ties at that instant come again)
            return Page(results, last=False, window_closed=True, window_start=start,
                        window_end=self.walk.start)
        if more:
            return Page(results, last=False)
        with self._locked():
            end = self.walk.complete(self._pages, self._rows)
        self._pages = self._rows = 0
        self._fresh = True
        self.after = None
        self.next_url = None
        page = Page(results, last=False, window_end=end, window_closed=True,
                    window_start=start)
        if not self.walk.done:
            return page
        if end is None:  # the open window: the run's last
            page.last = True
            return page
        return self._next_walk(page)


def _results(payload: t.Any) -> list[t.Any]:
    if payload is None:
        return []
    return payload.get("results", []) if isinstance(payload, dict) else payload
