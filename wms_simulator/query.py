"""Answering list queries fast without materialising the data.

The hot orderings are ``id`` (also ``-id``) and ``mod_ts[,id]``. For both, the base records form
a contiguous id range in order (base mod_ts is monotone in id), so a query is the merge of an id
range (minus the few changed/deleted base ids) with the small sorted list of changed records.
Counting, seeking to a page number and keyset cursors are then arithmetic plus bisection.
Everything else (other orderings, filters the range cannot express) falls back to scanning,
with the matching ids cached per store version so paging through such a query scans once.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from wms_simulator.filters import Cond, matches, parse_instant
from wms_simulator.model import DATETIME, DECIMAL, FK, Entity
from wms_simulator.store import Snapshot, Store, first_base_at_or_after

BIG = 1 << 62
Key = Any  # int (id order) or (instant, id) (mod_ts order)


@dataclass
class ListRequest:
    entity: Entity
    conds: list[Cond]
    ordering: list[tuple[str, bool]]  # (field, descending)
    sequenced: bool
    page: int = 1
    page_size: int = 100
    cursor: Any = None  # decoded cursor position (see pages.py)
    signature: str = ""  # canonical filter+ordering text, for caching


@dataclass
class ListResult:
    records: list[dict[str, Any]]
    count: int | None = None
    has_next: bool = False
    next_cursor: Any = None
    order: str = "id"


@dataclass
class Bounds:
    id_lo: int = 1
    id_hi: int = BIG
    ts_lo: tuple[int, bool] | None = None  # (instant, inclusive)
    ts_hi: tuple[int, bool] | None = None
    residual: list[Cond] = field(default_factory=list)


def order_kind(ordering: list[tuple[str, bool]]) -> str:
    if not ordering or ordering == [("id", False)]:
        return "id"
    if ordering == [("id", True)]:
        return "-id"
    if ordering in ([("mod_ts", False)], [("mod_ts", False), ("id", False)]):
        return "ts"
    return "sorted"


def split_bounds(conds: list[Cond]) -> Bounds:
    """Move the id/mod_ts range conditions into bounds; the rest is checked per record."""
    b = Bounds()
    for c in conds:
        if c.negate or c.path or c.field not in ("id", "mod_ts"):
            b.residual.append(c)
            continue
        lo: tuple[int, bool] | None = None
        hi: tuple[int, bool] | None = None
        if c.lookup in ("exact", "gte", "range"):
            lo = (c.value[0] if c.lookup == "range" else c.value, True)
        if c.lookup in ("exact", "lte", "range"):
            hi = (c.value[1] if c.lookup == "range" else c.value, True)
        if c.lookup == "gt":
            lo = (c.value, False)
        if c.lookup == "lt":
            hi = (c.value, False)
        if lo is None and hi is None:
            b.residual.append(c)
            continue
        if c.field == "id":
            if lo:
                b.id_lo = max(b.id_lo, lo[0] + (0 if lo[1] else 1))
            if hi:
                b.id_hi = min(b.id_hi, hi[0] - (0 if hi[1] else 1))
        else:
            if lo and (b.ts_lo is None or lo > b.ts_lo):
                b.ts_lo = lo if lo[1] else (lo[0] + 1, True)
            if hi and (b.ts_hi is None or hi < b.ts_hi):
                b.ts_hi = hi if hi[1] else (hi[0] - 1, True)
    return b


class Source:
    """Live ids matching the bounds, in id or (mod_ts, id) order, without generating records."""

    def __init__(self, store: Store, snap: Snapshot, name: str, bounds: Bounds, by_ts: bool):
        gen = store.gens[name]
        st = snap.states[name]
        self.gen, self.by_ts = gen, by_ts
        a, b = max(1, bounds.id_lo), min(gen.count, bounds.id_hi)
        ts_lo = bounds.ts_lo[0] if bounds.ts_lo else -BIG
        ts_hi = bounds.ts_hi[0] if bounds.ts_hi else BIG
        if a <= b and bounds.ts_lo:
            a = first_base_at_or_after(gen, a, b, (ts_lo, 0))
        if a <= b and bounds.ts_hi:
            b = first_base_at_or_after(gen, a, b, (ts_hi, BIG)) - 1
        self.a, self.b = a, b
        ex = st.excluded
        self.excl = ex[bisect_left(ex, a) : bisect_right(ex, b)] if a <= b else ()
        changed = [
            (t, i)
            for t, i in st.changed
            if bounds.id_lo <= i <= bounds.id_hi and ts_lo <= t <= ts_hi
        ]
        self.extra: list[Any] = changed if by_ts else sorted(i for _, i in changed)

    def key(self, rid: int) -> Key:
        return (self.gen.inst(rid), rid) if self.by_ts else rid

    def count(self) -> int:
        return max(0, self.b - self.a + 1) - len(self.excl) + len(self.extra)

    def _base_before(self, key: Key) -> int:
        first = (
            first_base_at_or_after(self.gen, self.a, self.b, key)
            if self.by_ts
            else min(max(key, self.a), self.b + 1)
        )
        return (first - self.a) - bisect_left(self.excl, first)

    def key_at_rank(self, k: int) -> Key:
        """Key of the k-th (0-based) element in ascending order."""
        m = 0
        for idx, e in enumerate(self.extra):
            pos = self._base_before(e) + idx
            if pos == k:
                return e
            if pos > k:
                break
            m = idx + 1
        x = self.a + (k - m)
        for ex in self.excl:
            if ex <= x:
                x += 1
            else:
                break
        return self.key(x)

    def _base_up(self, start: int) -> Iterator[int]:
        if not self.excl:
            yield from range(max(start, self.a), self.b + 1)
            return
        skip = set(self.excl)
        for i in range(max(start, self.a), self.b + 1):
            if i not in skip:
                yield i

    def _base_down(self, start: int) -> Iterator[int]:
        skip = set(self.excl)
        for i in range(min(start, self.b), self.a - 1, -1):
            if i not in skip:
                yield i

    def ascending(self, key: Key = None, inclusive: bool = True) -> Iterator[int]:
        extra = self.extra
        if key is None:
            start, lo = self.a, 0
        elif self.by_ts:
            seek = key if inclusive else (key[0], key[1] + 1)
            start = first_base_at_or_after(self.gen, self.a, self.b, seek)
            lo = (bisect_left if inclusive else bisect_right)(extra, key)
        else:
            start = key if inclusive else key + 1
            lo = (bisect_left if inclusive else bisect_right)(extra, key)
        rest = extra[lo:]
        if not rest:
            return self._base_up(start)
        if not self.by_ts:
            return heapq.merge(self._base_up(start), rest)
        based = ((self.gen.inst(i), i) for i in self._base_up(start))
        return (k[1] for k in heapq.merge(based, rest))

    def descending(self, key: int | None = None, inclusive: bool = True) -> Iterator[int]:
        start = BIG if key is None else (key if inclusive else key - 1)
        rest = [i for i in reversed(self.extra) if i <= start]
        return heapq.merge(self._base_down(start), rest, reverse=True)


class _Cache:
    """Small LRU of materialised id lists for scanning queries."""

    def __init__(self, size: int = 8) -> None:
        self.items: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self.size = size
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> list[int] | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], ids: list[int]) -> None:
        with self.lock:
            self.items[key] = ids
            while len(self.items) > self.size:
                self.items.popitem(last=False)


class QueryEngine:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache = _Cache()

    def run(self, req: ListRequest) -> ListResult:
        store, snap, name = self.store, self.store.snapshot(), req.entity.name
        kind = order_kind(req.ordering)
        bounds = split_bounds(req.conds) if kind != "sorted" else Bounds(residual=req.conds)
        memo: dict[tuple[str, int], dict[str, Any] | None] = {}

        def resolve(ent: str, rid: int) -> dict[str, Any] | None:
            if (ent, rid) not in memo:
                memo[(ent, rid)] = store.record_in(snap, ent, rid) if store.served(ent) else None
            return memo[(ent, rid)]

        def fetch(ids: Iterator[int] | list[int], limit: int) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for rid in ids:
                rec = store.record_in(snap, name, rid)
                if rec is None:
                    continue
                if all(matches(c, rec, resolve) for c in bounds.residual):
                    out.append(rec)
                    if len(out) >= limit:
                        break
            return out

        size = req.page_size
        if kind == "sorted" or (bounds.residual and not req.sequenced):
            ids = self._materialise(snap, req, kind, bounds, fetch)
            if req.sequenced:
                off = int(req.cursor or 0)
                recs = fetch(ids[off : off + size], size)
                more = off + size < len(ids)
                return ListResult(recs, None, more, off + size if more else None, "sorted")
            start = (req.page - 1) * size
            return ListResult(
                fetch(ids[start : start + size], size),
                len(ids),
                start + size < len(ids),
                None,
                kind,
            )

        src = Source(store, snap, name, bounds, by_ts=kind == "ts")
        if req.sequenced:
            cur = req.cursor
            if kind == "-id":
                it = src.descending(cur, inclusive=cur is None)
            else:
                it = src.ascending(cur, inclusive=cur is None)
            recs = fetch(it, size + 1)
            more = len(recs) > size
            recs = recs[:size]
            last = recs[-1]["id"] if recs else None
            nxt = None
            if more and last is not None:
                nxt = (store.inst_in(snap, name, last), last) if kind == "ts" else last
            return ListResult(recs, None, more, nxt, kind)
        total = src.count()
        start = (req.page - 1) * size
        if start >= total:
            return ListResult([], total, False, None, kind)
        if kind == "-id":
            it = src.descending(src.key_at_rank(total - 1 - start))
        else:
            it = src.ascending(src.key_at_rank(start))
        return ListResult(fetch(it, size), total, start + size < total, None, kind)

    def match_count(self, req: ListRequest) -> int:
        """Rows matching the filters, whichever page or cursor ``req`` asks for.

        A paged first page always counts its match (arithmetic on the fast paths, one cached
        scan otherwise); the latency profile charges off-id orderings by this number.
        """
        whole = replace(req, sequenced=False, page=1, page_size=1, cursor=None)
        return self.run(whole).count or 0

    def _materialise(
        self, snap: Snapshot, req: ListRequest, kind: str, bounds: Bounds, fetch: Any
    ) -> list[int]:
        key = (snap.version, req.entity.name, kind, req.signature)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        src = Source(self.store, snap, req.entity.name, bounds, by_ts=kind == "ts")
        it = src.descending() if kind == "-id" else src.ascending()
        recs = fetch(it, BIG)
        if kind == "sorted":
            for fname, desc in reversed(req.ordering):
                kind_of = req.entity.by_name[fname].kind
                recs.sort(key=lambda r, f=fname, k=kind_of: sort_key(k, r.get(f)), reverse=desc)
        ids = [r["id"] for r in recs]
        self.cache.put(key, ids)
        return ids


def sort_key(kind: str, raw: Any) -> tuple[Any, ...]:
    """Comparable form of a served value; nulls sort first."""
    if raw is None:
        return (0,)
    if kind == FK:
        return (1, raw["id"])
    if kind == DATETIME:
        return (1, parse_instant(raw))
    if kind == DECIMAL:
        return (1, Decimal(raw))
    return (1, raw)
