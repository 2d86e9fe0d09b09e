"""The floor loader (the benchmark's yardstick) lands every record of the simulator exactly once.

A yardstick that dropped or doubled records would flatter or shame every other row of the
benchmark table, so this checks ids, not timing (timing is never asserted).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks import floor
from benchmarks.paths import ENTITIES
from wms_simulator.testing import running_simulator


def test_floor_loads_every_id_once(tmp_path: Path) -> None:
    db_path = tmp_path / "floor.db"
    with running_simulator(scale=2000, seed=1) as sim:
        counts = floor.load(sim.base_url, db_path, username=sim.username,
                            password=sim.password, page_size=300)
        truth = {entity: [rec["id"] for rec in sim.truth(entity)] for entity in ENTITIES}

    with sqlite3.connect(db_path) as db:
        for entity in ENTITIES:
            ids = [row[0] for row in db.execute(f'SELECT id FROM "{entity}"')]
            assert len(ids) == len(set(ids)), f"{entity}: duplicate ids"
            assert sorted(ids) == sorted(truth[entity]), f"{entity}: ids differ from WMS"
            assert counts[entity] == len(truth[entity])
            columns = {row[1] for row in db.execute(f'PRAGMA table_info("{entity}")')}
            assert "url" not in columns
            assert not any(c.endswith("_set") for c in columns)
    assert sum(counts.values()) > 0


def test_floor_flattens_foreign_keys_like_the_tap(tmp_path: Path) -> None:
    db_path = tmp_path / "floor.db"
    with running_simulator(scale=300, seed=2) as sim:
        floor.load(sim.base_url, db_path, username=sim.username, password=sim.password,
                   entities=["order_hdr"])
        first = next(iter(sim.truth("order_hdr")))
    with sqlite3.connect(db_path) as db:
        facility_id, facility_key = db.execute(
            'SELECT facility_id, facility_id_key FROM "order_hdr" WHERE id = ?', (first["id"],)
        ).fetchone()
    assert facility_id == first["facility_id"]["id"]
    assert facility_key == first["facility_id"]["key"]
