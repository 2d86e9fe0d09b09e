"""Opt-in LRU of fully rendered list-page bodies (``--cache-mb``), off by default.

A page body depends only on the published data version, the base URL (records carry absolute
URLs), the entity path and the query's parameters, so those are the key; any change
(``/_sim/changes``) publishes a new version and every older entry simply stops matching (and
ages out). The query is canonical: parameters sorted, a repeated one's last value (what the API
reads); a hit may therefore carry ``next_page`` links with the parameters in the order of the
request that filled the entry — the same query, the same records.

Used by benchmarks to make the server's own cost negligible on a warm pass; faults, auth,
``page_delay`` and request stats are applied before the cache is consulted, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

Key = tuple[Any, ...]


class ResponseCache:
    """Bytes-bounded, thread-safe LRU of response bodies, each with its page's record count.

    The record count rides along so a hit is charged the same latency as the miss that
    filled it, without parsing the body again.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[Key, tuple[bytes, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @classmethod
    def from_mb(cls, mb: float | None) -> ResponseCache | None:
        """None (no cache) unless ``mb`` > 0."""
        return cls(int(mb * 1024 * 1024)) if mb and mb > 0 else None

    @staticmethod
    def key(version: int, base_url: str, path: str, params: dict[str, str]) -> Key:
        return (version, base_url, path, tuple(sorted(params.items())))

    def get(self, key: Key) -> tuple[bytes, int] | None:
        """(body, records on the page), or None on a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Key, body: bytes, records: int = 0) -> None:
        size = len(body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= len(old[0])
            self._entries[key] = (body, records)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (evicted, _) = self._entries.popitem(last=False)
                self.bytes -= len(evicted)
                self.evictions += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self.bytes,
                    "max_bytes": self.max_bytes, "hits": self.hits, "misses": self.misses,
                    "evictions": self.evictions}
