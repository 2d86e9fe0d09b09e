"""The fetcher's memory budget: pages buffered or in flight are held to `max_held`, while a
reader the writer waits for is never held back (no deadlock)."""

from __future__ import annotations

import threading
import time
import typing as t

from tap_oracle_wms.fetcher import Fetcher
from tap_oracle_wms.readers import Page

PAGES_PER_READER = 3


class CountingReader:
    """Reads PAGES_PER_READER pages of one-record results numbered by reader and page."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.page = 0

    def request(self) -> tuple[str, dict[str, t.Any] | None]:
        return self.label, None

    def advance(self, payload: t.Any, seconds: float) -> Page:
        self.page += 1
        return Page([{"id": f"{self.label}-{self.page}"}], last=self.page == PAGES_PER_READER)

    def shrink(self) -> bool:
        return False


def wait_for(condition: t.Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_pages_ahead_of_the_writer_stay_within_the_budget_and_all_arrive_in_order():
    first_may_go = threading.Event()
    lock = threading.Lock()
    later_fetched = 0

    def get_page(url: str, **_: t.Any) -> dict[str, t.Any]:
        nonlocal later_fetched
        if url.startswith("first"):
            first_may_go.wait()
        else:
            with lock:
                later_fetched += 1
        return {}

    fetcher = Fetcher(get_page, workers=4, max_retries=0, backoff=lambda _: 0.0, max_held=3)
    first = [fetcher.add(CountingReader("first-0"), "first")]
    later = [fetcher.add(CountingReader(f"later-{n}"), "later") for n in range(4)]
    written: list[str] = []

    def writer() -> None:  # as the tap's main thread: one stream after the other
        for feeds in (first, later):
            written.extend(rec["id"] for _, page in fetcher.drain(feeds) for rec in page.results)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # The writer waits on the first stream, whose page is slow (in flight: it counts); the
        # later readers fetch up to the budget, then every one of them waits for the writer.
        wait_for(
            lambda: first[0] in fetcher._draining and len(fetcher._held_back) == len(later),
            "the later readers to be held back",
        )
        assert later_fetched == 2
    finally:
        first_may_go.set()
        thread.join(timeout=20)
        fetcher.close()
    assert not thread.is_alive()
    assert written[:PAGES_PER_READER] == [f"first-0-{p}" for p in (1, 2, 3)]
    assert sorted(written[PAGES_PER_READER:]) == sorted(
        f"later-{n}-{p}" for n in range(4) for p in (1, 2, 3)
    )
    for n in range(4):  # each reader's pages in its own order
        mine = [w for w in written if w.startswith(f"later-{n}-")]
        assert mine == [f"later-{n}-{p}" for p in (1, 2, 3)]


def test_a_slow_writer_holds_the_readers_of_its_own_stream_to_the_budget():
    """Against an instant server the writer is the slow side: its own stream's readers must
    not each fill their read-ahead (that was the tap's 234 MB at 1M records)."""
    lock = threading.Lock()
    fetched = 0

    def get_page(url: str, **_: t.Any) -> dict[str, t.Any]:
        nonlocal fetched
        with lock:
            fetched += 1
        return {}

    fetcher = Fetcher(get_page, workers=4, max_retries=0, backoff=lambda _: 0.0, max_held=2)
    feeds = [fetcher.add(CountingReader(f"r-{n}"), "one stream") for n in range(3)]
    pages = fetcher.drain(feeds)
    try:
        next(pages)  # the writer takes one page, then is busy elsewhere
        # Each reader may hold one page the writer waits for, and no more: over the budget.
        wait_for(
            lambda: len(fetcher._held_back) == len(feeds) and all(f.pages for f in feeds),
            "every reader to hold one page and wait",
        )
        assert fetched == 1 + len(feeds)
        rest = [rec["id"] for _, page in pages for rec in page.results]
    finally:
        fetcher.close()
    assert len(rest) == 3 * PAGES_PER_READER - 1
