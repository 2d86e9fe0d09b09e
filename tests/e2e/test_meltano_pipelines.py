"""The two jobs through `meltano run`, as a user runs them: the warehouse must equal WMS."""

from __future__ import annotations

import pytest
from e2e_helpers import ENTITIES, wms_truth

pytestmark = pytest.mark.e2e


def assert_matches_wms(project, simulator) -> None:
    for entity in ENTITIES:
        total, distinct = project.query(
            f"SELECT count(*), count(DISTINCT id) FROM WMS_{entity.upper()}"
        )[0]
        assert total == distinct, f"{entity}: {total - distinct} duplicate ids"
        assert project.live_rows(entity) == wms_truth(simulator, entity), entity


def test_full_sync_twice_lands_every_record_once(project, simulator) -> None:
    project.meltano("run", "full_sync")
    assert_matches_wms(project, simulator)
    counts = {e: project.query(f"SELECT count(*) FROM WMS_{e.upper()}")[0][0] for e in ENTITIES}

    project.meltano("run", "full_sync")
    assert_matches_wms(project, simulator)
    assert counts == {
        e: project.query(f"SELECT count(*) FROM WMS_{e.upper()}")[0][0] for e in ENTITIES
    }


def test_incremental_fetches_only_the_changes(project, simulator) -> None:
    project.meltano("run", "full_sync")  # also seeds the incremental bookmarks
    report = simulator.apply_changes(update=25, insert=10, tie=15, late=2)
    assert report.ids("order_hdr", "updated")

    project.meltano("run", "incremental_sync")
    assert_matches_wms(project, simulator)
    fetched = project.query(
        "SELECT sum(inserted) + sum(updated) + sum(unchanged) FROM WMS_LOAD_AUDIT "
        "WHERE pipeline = 'incremental_sync' AND run_id = ("
        "  SELECT run_id FROM WMS_LOAD_AUDIT WHERE pipeline = 'incremental_sync'"
        "  ORDER BY finished_at DESC LIMIT 1)"
    )[0][0]
    total = sum(len(wms_truth(simulator, e)) for e in ENTITIES)
    assert 25 + 10 <= fetched < total / 4, f"incremental fetched {fetched} of {total} records"


def test_full_sync_reconciles_deletes(project, simulator) -> None:
    project.meltano("run", "full_sync")
    report = simulator.apply_changes(delete=7, update=5)
    project.meltano("run", "full_sync")
    assert_matches_wms(project, simulator)
    for entity in ENTITIES:
        soft_deleted = {
            row[0]
            for row in project.query(
                f"SELECT id FROM WMS_{entity.upper()} WHERE _sdc_deleted_at IS NOT NULL"
            )
        }
        assert soft_deleted == set(report.ids(entity, "deleted")), entity
