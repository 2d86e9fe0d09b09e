"""The live data: generated base records plus the (small) set of simulated changes.

Changes never mutate a published state: each change builds new per-entity states and swaps the
whole mapping at once, so a request that took a snapshot sees one consistent version even while
changes land (copy-on-write of the small change structures, never of the base data).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wms_simulator.generate import CLOCK_START_US, Generator, make_keys
from wms_simulator.model import (
    EMPTY_ENTITIES,
    ENTITIES,
    REFERENCE_COUNTS,
    Entity,
    empty_entity,
    scale_split,
)

API_PATH = "/wms/lgfapi/v10/entity/"


@dataclass(frozen=True)
class EntityState:
    """Everything that differs from the generated base, for one entity."""

    overrides: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    deleted: frozenset[int] = frozenset()
    excluded: tuple[int, ...] = ()  # sorted base ids not served from the base (changed/deleted)
    changed: tuple[tuple[int, int], ...] = ()  # sorted (mod_ts instant, id) of overrides
    by_id: tuple[int, ...] = ()  # sorted ids of overrides
    max_id: int = 0
    set_delta: dict[str, dict[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    version: int
    states: dict[str, EntityState]


class Store:
    """Base generators for every served entity and the current change state."""

    def __init__(self, scale: int = 2000, seed: int = 7, base_url: str = "") -> None:
        self.scale = scale
        self.seed = seed
        self.counts: dict[str, int] = {**REFERENCE_COUNTS, **scale_split(scale)}
        self.keys = make_keys(self.counts)
        self.lock = threading.Lock()
        self.clock = CLOCK_START_US
        self.change_calls = 0
        self.gens: dict[str, Generator] = {}
        self.snap = Snapshot(0, {})
        self.set_base_url(base_url)

    def set_base_url(self, base_url: str) -> None:
        """(Re)build the generators: record URLs are absolute, so they embed the base URL."""
        self.base_url = base_url.rstrip("/")
        prefix = f"{self.base_url}{API_PATH}"
        self.prefix = prefix
        self.gens = {
            name: Generator(ENTITIES[name], self.seed, n, self.counts, prefix, self.keys)
            for name, n in self.counts.items()
        }
        self.snap = Snapshot(0, {name: EntityState(max_id=n) for name, n in self.counts.items()})

    # --- lookups ------------------------------------------------------------------------------
    def entity(self, name: str) -> Entity | None:
        if name in ENTITIES:
            return ENTITIES[name]
        if name in EMPTY_ENTITIES:
            return empty_entity(name)
        return None

    def served(self, name: str) -> bool:
        return name in self.gens

    def snapshot(self) -> Snapshot:
        return self.snap

    def record_in(self, snap: Snapshot, name: str, rid: int) -> dict[str, Any] | None:
        """The record as served, or None when it does not exist in this snapshot."""
        gen = self.gens.get(name)
        if gen is None:
            return None
        st = snap.states[name]
        hit = st.overrides.get(rid)
        if hit is not None:
            rec = hit[1]
        elif rid < 1 or rid > gen.count or rid in st.deleted:
            return None
        else:
            rec = gen.record(rid)
        if st.set_delta:
            rec = self._patch_sets(gen, st, rec)
        return rec

    def _patch_sets(self, gen: Generator, st: EntityState, rec: dict[str, Any]) -> dict[str, Any]:
        rid = rec["id"]
        for s in gen.entity.sets:
            delta = st.set_delta.get(s.name, {}).get(rid)
            if not delta:
                continue
            rec = dict(rec)
            old = rec[s.name]
            n = (old["result_count"] if old else 0) + delta
            rec[s.name] = (
                {"result_count": n, "url": f"{self.prefix}{s.child}/?{s.fk}={rid}"}
                if n > 0
                else None
            )
        return rec

    def inst_in(self, snap: Snapshot, name: str, rid: int) -> int:
        hit = snap.states[name].overrides.get(rid)
        return hit[0] if hit is not None else self.gens[name].inst(rid)

    def record(self, name: str, rid: int) -> dict[str, Any] | None:
        return self.record_in(self.snap, name, rid)

    def ids(self, name: str) -> list[int]:
        """All live ids of an entity, ascending (storage order)."""
        return list(self.iter_ids(self.snap, name))

    def iter_ids(self, snap: Snapshot, name: str) -> Iterator[int]:
        gen, st = self.gens[name], snap.states[name]
        excluded = set(st.excluded)
        extra = [i for i in st.by_id if i > gen.count]
        for i in range(1, gen.count + 1):
            if i not in excluded or i in st.overrides:
                yield i
        yield from extra

    def iter_records(self, name: str) -> Iterator[dict[str, Any]]:
        snap = self.snap
        for rid in self.iter_ids(snap, name):
            rec = self.record_in(snap, name, rid)
            if rec is not None:
                yield rec

    def newest_inst(self, snap: Snapshot, name: str) -> int:
        st = snap.states[name]
        base = self.gens[name].max_inst
        return max(base, st.changed[-1][0]) if st.changed else base

    # --- mutation (used by changes.py, under self.lock) ---------------------------------------
    def publish(self, states: dict[str, EntityState]) -> None:
        self.snap = Snapshot(self.snap.version + 1, states)


def rebuild_state(
    gen_count: int,
    overrides: dict[int, tuple[int, dict[str, Any]]],
    deleted: set[int],
    max_id: int,
    set_delta: dict[str, dict[int, int]],
) -> EntityState:
    """Derive the sorted indexes of a new state from its overrides and deletions."""
    base_touched = {i for i in overrides if i <= gen_count} | {i for i in deleted if i <= gen_count}
    return EntityState(
        overrides=overrides,
        deleted=frozenset(deleted),
        excluded=tuple(sorted(base_touched)),
        changed=tuple(sorted((inst, i) for i, (inst, _) in overrides.items())),
        by_id=tuple(sorted(overrides)),
        max_id=max_id,
        set_delta=set_delta,
    )


def first_base_at_or_after(gen: Generator, lo: int, hi: int, key: tuple[int, int]) -> int:
    """Smallest base id in [lo, hi] whose (instant, id) >= key, or hi + 1 (ids are sorted so)."""
    ids = range(lo, hi + 1)
    return lo + bisect_left(ids, key, key=lambda i: (gen.inst(i), i))
