"""The run's page fetcher: worker threads advance readers (id ranges, `mod_ts` window walks)
page by page, while the one writer thread drains the pages in Singer order.

Why this shape: on a real tenant a page costs ~1 s + 15-20 ms per record, so the run is as
fast as the number of requests in flight. Workers fetch; the in-flight limit itself lives in
the request path (`RetryPolicy.call`, `inflight.AdaptiveLimiter`), where every request of
the run passes. Each reader has at most one request in flight and at most `ahead` pages
waiting for the writer (it parks, and the writer wakes it when it takes a page), so memory
stays bounded and a worker never blocks on a full buffer. Readers start in the order they
were added, at most `max_active` at once, and a slot frees only when the writer has drained
a reader: since the writer drains streams in that same order, the readers it waits for are
always started; those of the next entities use the spare slots, which is how entities are
read in parallel while stdout stays one stream at a time.

Pages fetched ahead of the writer are what costs memory (a parsed page of `order_hdr` is
~10 MB): against an instant server every reader fills its `ahead` pages while the writer
works, and against a slow one the readers of later streams do while the writer is on an
earlier one. So pages buffered or in flight are held to `max_held` for the whole run (as many
as the workers by default); a reader over that budget waits until the writer takes a page.
A reader of a stream being written that has no page buffered is never held back, so the
writer always has something to wait for, and the budget cannot deadlock the run. Measured:
the tap's peak at 8 workers on production latency 283 -> ~180 MB at the same wall time, and
the CPU-bound tap alone at 4 workers (1M records) 234 -> 180 MB.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import typing as t
from collections import deque

from tap_oracle_wms.client import TooSlowForGateway, WMSRequestError

if t.TYPE_CHECKING:
    from tap_oracle_wms.readers import Page

logger = logging.getLogger("tap-oracle-wms")


class Reader(t.Protocol):
    label: str

    def request(self) -> tuple[str, dict[str, t.Any] | None]: ...
    def advance(self, payload: t.Any, seconds: float) -> Page: ...
    def shrink(self) -> bool: ...


class Feed:
    """A reader and the pages it fetched that the writer has not taken yet."""

    def __init__(self, reader: Reader, what: str, ahead: int) -> None:
        self.reader = reader
        self.what = what
        self.ahead = ahead
        self.pages: deque[Page] = deque()
        self.fetched_all = False
        self.error: BaseException | None = None
        self.parked = False
        self.fetching = False
        self.stuck = 0  # overloads with nothing left to shrink


GetPage = t.Callable[..., t.Any]


class Fetcher:
    def __init__(
        self,
        get_page: GetPage,
        *,
        workers: int,
        max_retries: int,
        backoff: t.Callable[[int], float],
        ahead: int = 2,
        max_held: int | None = None,
    ) -> None:
        self._get_page = get_page
        self.workers = max(1, workers)
        self.max_active = 2 * self.workers
        self.max_retries = max_retries
        self._backoff = backoff
        self.ahead = max(1, ahead)
        self.max_held = max(1, max_held or self.workers)
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[Feed | None] = queue.SimpleQueue()
        self._pending: deque[Feed] = deque()
        self._active = 0
        self._started: list[Feed] = []
        self._draining: set[Feed] = set()
        self._held_back: deque[Feed] = deque()  # over the budget, until the writer takes a page
        self._threads: list[threading.Thread] = []
        self._closed = False

    # --- the writer's side ---

    def add(self, reader: Reader, what: str, ahead: int | None = None) -> Feed:
        """Queue a reader. `ahead`: pages it may fetch before the writer takes them (more
        for a lone reader of an entity, so it keeps going while other entities are written;
        each page costs memory)."""
        feed = Feed(reader, what, max(1, ahead or self.ahead))
        with self._cond:
            if not self._threads:
                self._start_workers()
            self._pending.append(feed)
            self._start_pending()
        return feed

    def drain(self, feeds: t.Sequence[Feed]) -> t.Iterator[tuple[Feed, Page]]:
        """Pages of `feeds` as they arrive, until every feed is read to its end."""
        remaining = list(feeds)
        with self._cond:
            self._draining.update(remaining)
            self._release_held()
        while remaining:
            with self._cond:
                feed = self._ready(remaining)
                while feed is None:
                    self._cond.wait()
                    feed = self._ready(remaining)
                if feed.error is not None:
                    raise feed.error
                page = feed.pages.popleft() if feed.pages else None
                if feed.parked and not feed.fetched_all:
                    feed.parked = False
                    self._queue.put(feed)
                if feed.fetched_all and not feed.pages:
                    remaining.remove(feed)
                    self._draining.discard(feed)
                    self._started.remove(feed)
                    self._active -= 1
                    self._start_pending()
                if page is not None:
                    self._release_held()
            if page is not None:
                yield feed, page

    @staticmethod
    def _ready(feeds: list[Feed]) -> Feed | None:
        for feed in feeds:
            if feed.pages or feed.error is not None or feed.fetched_all:
                return feed
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            for _ in self._threads:
                self._queue.put(None)

    # --- the workers' side ---

    def _start_workers(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"wms-fetch-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _start_pending(self) -> None:
        while self._active < self.max_active and self._pending:
            self._active += 1
            feed = self._pending.popleft()
            self._started.append(feed)
            self._queue.put(feed)

    def _held(self) -> int:
        """Pages buffered or in flight, over every started reader."""
        return sum(len(f.pages) + f.fetching for f in self._started)

    def _may_fetch(self, feed: Feed) -> bool:
        """Within the budget, or the writer may be waiting for this very reader."""
        if self._held() < self.max_held:
            return True
        return feed in self._draining and not feed.pages

    def _release_held(self) -> None:
        """Let held-back readers check the budget again (the caller holds the lock)."""
        while self._held_back:
            self._queue.put(self._held_back.popleft())

    def _work(self) -> None:
        while (feed := self._queue.get()) is not None:
            if self._closed:
                continue
            with self._cond:
                if not self._may_fetch(feed):
                    self._held_back.append(feed)
                    continue
                feed.fetching = True
            try:
                page = self._fetch(feed)
            except BaseException as exc:  # handed to the writer thread, raised there
                with self._cond:
                    feed.fetching = False
                    feed.error = exc
                    self._cond.notify_all()
                continue
            with self._cond:
                feed.fetching = False
                if page is None:  # asked a smaller question: go again
                    self._queue.put(feed)
                    continue
                feed.pages.append(page)
                if page.last:
                    feed.fetched_all = True
                elif len(feed.pages) < feed.ahead:
                    self._queue.put(feed)
                else:
                    feed.parked = True
                self._cond.notify_all()

    def _fetch(self, feed: Feed) -> Page | None:
        reader = feed.reader
        url, params = reader.request()
        started = time.monotonic()
        try:
            payload = self._get_page(url, params=params, what=feed.what, adaptive=True)
        except TooSlowForGateway as exc:
            if reader.shrink():
                return None
            feed.stuck += 1
            if feed.stuck > self.max_retries:
                msg = (
                    f"Giving up on {reader.label}: still too slow for the gateway at the "
                    f"smallest page and window after {feed.stuck} attempts ({exc})"
                )
                raise WMSRequestError(msg) from exc
            wait = self._backoff(feed.stuck - 1)
            logger.warning(
                "Retry %d/%d in %.2fs for %s: %s", feed.stuck, self.max_retries, wait,
                reader.label, exc,
            )
            time.sleep(wait)
            return None
        return reader.advance(payload, time.monotonic() - started)
