"""Change simulation: updates, inserts, deletes, mod_ts ties and late commits.

Each call moves a simulated clock forward (it starts after every base timestamp), so an
incremental sync that asks ``mod_ts__gte=<bookmark>`` sees exactly the changed rows. ``late``
rows get a mod_ts a few minutes *before* the newest one seen so far (a transaction that
committed late): only a sync with a lookback of about 5 minutes catches them.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

from wms_simulator.generate import Generator, fmt_ts, mix64
from wms_simulator.model import ENTITIES, MAIN_ENTITIES
from wms_simulator.store import EntityState, Store, rebuild_state

SECOND = 1_000_000
_ACTIONS = ("updated", "inserted", "deleted", "tied", "late")


@dataclass
class ChangeReport:
    """What one change call did, per entity, by id."""

    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "entities": self.entities}

    def ids(self, entity: str, action: str) -> list[int]:
        return list(self.entities.get(entity, {}).get(action, []))


def _offset_minutes(ts: str) -> int:
    sign = -1 if ts[-6] == "-" else 1
    return sign * (int(ts[-5:-3]) * 60 + int(ts[-2:]))


def _mutate(name: str, rec: dict[str, Any], rng: random.Random) -> None:
    """Change a few values, as a real update would."""
    if "status_id" in rec:
        rec["status_id"] = rng.choice((10, 20, 30, 40, 50, 60, 90))
    for f in ("alloc_qty", "packed_qty", "ord_qty"):
        if f in rec:
            rec[f] = f"{rng.randint(0, 999)}.{rng.randint(0, 999):03d}"
    if "priority" in rec:
        rec["priority"] = rng.randint(1, 99)
    if "cust_field_1" in rec:
        rec["cust_field_1"] = f"CHG{rng.randint(0, 99999):05d}"
    if "pick_user" in rec:
        rec["pick_user"] = rng.choice(("RF_PICK01", "RF_PICK02", "JSMITH"))
    if "description" in rec:
        rec["description"] = f"changed {rng.randint(0, 99999)}"
    rec["mod_user"] = "SIM_CHANGE"


class _EntityChange:
    """Mutable working copy of one entity's state during a change call."""

    def __init__(self, store: Store, name: str, st: EntityState, rng: random.Random) -> None:
        self.store, self.name, self.rng = store, name, rng
        self.gen: Generator = store.gens[name]
        self.overrides = dict(st.overrides)
        self.deleted = set(st.deleted)
        self.max_id = st.max_id
        self.taken: set[int] = set()

    def raw(self, rid: int) -> dict[str, Any]:
        hit = self.overrides.get(rid)
        return dict(hit[1]) if hit else self.gen.record(rid)

    def live(self, rid: int) -> bool:
        if rid in self.deleted:
            return False
        return rid <= self.gen.count or rid in self.overrides

    def instant(self, rid: int) -> int:
        """The row's current mod_ts, as microseconds since the epoch."""
        hit = self.overrides.get(rid)
        return hit[0] if hit else self.gen.inst(rid)

    def pick(self, k: int, same_offset: bool = False, older_than: int | None = None) -> list[int]:
        """Up to k distinct live rows; with `older_than`, only rows whose mod_ts is older (a late
        commit gives a row an older mod_ts than the newest, never older than its own)."""
        out: list[int] = []
        offset: str | None = None
        for _ in range(k * 50 + 200):
            if len(out) >= k:
                break
            rid = self.rng.randint(1, self.max_id)
            if rid in self.taken or not self.live(rid):
                continue
            if older_than is not None and self.instant(rid) >= older_than:
                continue
            if same_offset:
                off = self.raw(rid)["mod_ts"][-6:]
                if offset is not None and off != offset:
                    continue
                offset = off
            self.taken.add(rid)
            out.append(rid)
        return out

    def touch(self, rid: int, inst: int) -> None:
        rec = self.raw(rid)
        _mutate(self.name, rec, self.rng)
        rec["mod_ts"] = fmt_ts(inst, _offset_minutes(rec["mod_ts"]))
        self.overrides[rid] = (inst, rec)


def _child_links(name: str) -> list[tuple[str, str, str]]:
    """(parent entity, set name, fk field) for every *_set that counts ``name`` records."""
    return [(p.name, s.name, s.fk) for p in ENTITIES.values() for s in p.sets if s.child == name]


def apply_changes(
    store: Store,
    update: int = 0,
    insert: int = 0,
    delete: int = 0,
    tie: int = 0,
    late: int = 0,
    entities: list[str] | None = None,
) -> ChangeReport:
    """Apply one batch of changes to each entity and publish them atomically."""
    names = list(entities or MAIN_ENTITIES)
    unknown = [n for n in names if not store.served(n)]
    if unknown:
        raise ValueError(f"unknown entities: {unknown}")
    if min(update, insert, delete, tie, late) < 0:
        raise ValueError("counts must be >= 0")
    with store.lock:
        store.change_calls += 1
        rng = random.Random(mix64(store.seed * 1_000_003 + store.change_calls))
        snap = store.snap
        states = dict(snap.states)
        deltas: dict[str, dict[str, dict[int, int]]] = {
            n: {k: dict(v) for k, v in st.set_delta.items()} for n, st in states.items()
        }
        newest = {n: store.newest_inst(snap, n) for n in names}
        t = max(store.clock, *newest.values()) + 60 * SECOND
        report = ChangeReport()
        for name in names:
            ch = _EntityChange(store, name, states[name], rng)
            done: dict[str, Any] = {a: [] for a in _ACTIONS}
            for rid in ch.pick(update):
                t += rng.randint(1_000, 900_000)
                ch.touch(rid, t)
                done["updated"].append(rid)
            for _ in range(insert):
                t += rng.randint(1_000, 900_000)
                ch.max_id += 1
                rid = ch.max_id
                rec = ch.gen.record(rid, inst=t, create_inst=t)
                rec["create_user"] = rec["mod_user"] = "SIM_CHANGE"
                ch.overrides[rid] = (t, rec)
                _count_child(deltas, name, rec, +1)
                done["inserted"].append(rid)
            if tie:
                t += rng.randint(1_000_000, 2_000_000)
                for rid in ch.pick(tie, same_offset=True):
                    ch.touch(rid, t)
                    done["tied"].append(rid)
                done["tie_mod_ts"] = (
                    ch.overrides[done["tied"][0]][1]["mod_ts"] if done["tied"] else None
                )
            late_at = newest[name] - rng.randint(60 * SECOND, 240 * SECOND)
            for rid in ch.pick(late, older_than=late_at):
                ch.touch(rid, late_at)
                done["late"].append(rid)
            for rid in ch.pick(delete):
                _count_child(deltas, name, ch.raw(rid), -1)
                ch.overrides.pop(rid, None)
                ch.deleted.add(rid)
                done["deleted"].append(rid)
            states[name] = rebuild_state(
                ch.gen.count, ch.overrides, ch.deleted, ch.max_id, deltas[name]
            )
            report.entities[name] = done
        for n, st in states.items():
            if deltas[n] != st.set_delta:
                states[n] = dataclasses.replace(st, set_delta=deltas[n])
        store.clock = max(t, store.clock)
        store.publish(states)
        report.version = store.snap.version
        return report


def _count_child(
    deltas: dict[str, dict[str, dict[int, int]]], name: str, rec: dict[str, Any], sign: int
) -> None:
    for parent, set_name, fk in _child_links(name):
        ref = rec.get(fk)
        if ref and parent in deltas:
            per = deltas[parent].setdefault(set_name, {})
            per[ref["id"]] = per.get(ref["id"], 0) + sign
