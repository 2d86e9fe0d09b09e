"""Edits of a running simulator's records that its change generator does not make: fields
describe lacks (a release upgrade), sentinel FKs. Same instant, so mod_ts does not move."""

from __future__ import annotations

import typing as t

from wms_simulator.store import rebuild_state


def patch_records(
    sim: t.Any, entity: str, ids: t.Iterable[int], patch: t.Callable[[dict], dict]
) -> None:
    store = sim.store
    with store.lock:
        snap = store.snapshot()
        st = snap.states[entity]
        overrides = dict(st.overrides)
        for rid in ids:
            rec = store.record_in(snap, entity, rid)
            if rec is not None:
                overrides[rid] = (store.inst_in(snap, entity, rid), patch(dict(rec)))
        states = dict(snap.states)
        states[entity] = rebuild_state(
            store.gens[entity].count, overrides, set(st.deleted), st.max_id, st.set_delta
        )
        store.publish(states)
