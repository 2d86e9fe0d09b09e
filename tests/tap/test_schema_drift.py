"""A catalog older than WMS' describe: fields WMS added since are loaded anyway, while what
the catalog says (types, selection, fields WMS no longer has) still holds."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from tap_helpers import base_config, run_tap

from tap_oracle_wms.schema import add_missing_properties

sim_testing = pytest.importorskip("wms_simulator.testing")

ENTITY = "order_hdr"
NEW = ("mod_user", "facility_id", "facility_id_key")  # "added to WMS since the catalog"
DESELECTED = "order_nbr"
OVERRIDDEN = "create_user"  # a user narrowed its type in the catalog
GONE = "legacy_code"  # in the catalog, no longer described by WMS


@pytest.fixture(scope="module")
def sim() -> t.Iterator[t.Any]:
    with sim_testing.running_simulator(scale=200, seed=9) as running:
        yield running


@pytest.fixture(scope="module")
def discovered(sim: t.Any) -> dict[str, t.Any]:
    run = run_tap(base_config(sim, entities=[ENTITY]), args=["--discover"])
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def select_all(catalog: dict[str, t.Any]) -> dict[str, t.Any]:
    """Like Meltano's catalog after `select: [order_hdr.*]`: every listed field selected."""
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            entry["metadata"]["selected"] = True
    return catalog


def stale_catalog(catalog: dict[str, t.Any]) -> dict[str, t.Any]:
    catalog = select_all(json.loads(json.dumps(catalog)))
    (stream,) = catalog["streams"]
    props = stream["schema"]["properties"]
    for name in NEW:
        del props[name]
    props[OVERRIDDEN] = {"type": ["string", "null"], "maxLength": 7}
    props[GONE] = {"type": ["string", "null"]}
    stream["metadata"] = [
        m for m in stream["metadata"] if m["breadcrumb"] not in (["properties", n] for n in NEW)
    ]
    for entry in stream["metadata"]:
        if entry["breadcrumb"] == ["properties", DESELECTED]:
            entry["metadata"]["selected"] = False
    return catalog


def sync(sim: t.Any, catalog: dict[str, t.Any], tmp_path: Path) -> t.Any:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_tap(base_config(sim, entities=[ENTITY]), args=["--catalog", str(path)])
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_fields_missing_from_the_catalog_are_loaded_and_named(
    sim: t.Any, discovered: dict[str, t.Any], tmp_path: Path
) -> None:
    run = sync(sim, stale_catalog(discovered), tmp_path)
    (schema,) = run.of_type("SCHEMA", ENTITY)
    props = schema["schema"]["properties"]
    described = discovered["streams"][0]["schema"]["properties"]
    for name in NEW:
        assert props[name] == described[name]
    assert props[OVERRIDDEN] == {"type": ["string", "null"], "maxLength": 7}
    assert GONE in props
    assert DESELECTED not in props
    records = run.records(ENTITY)
    assert sorted(r["id"] for r in records) == sorted(sim.store.ids(ENTITY))
    for record in records:
        assert set(NEW) <= record.keys()
        assert DESELECTED not in record
    for record in records[:50]:
        raw = sim.store.record(ENTITY, record["id"])
        facility = raw["facility_id"] or {}
        assert record["mod_user"] == raw["mod_user"]
        assert (record["facility_id"], record["facility_id_key"]) == (
            facility.get("id"),
            facility.get("key"),
        )
    warnings = [line for line in run.stderr.splitlines() if "missing from the catalog" in line]
    assert len(warnings) == 1, warnings
    assert "WARNING" in warnings[0]
    assert f"entity '{ENTITY}': 3 field(s)" in warnings[0]
    assert "mod_user, facility_id, facility_id_key" in warnings[0]


def test_an_up_to_date_catalog_warns_nothing(
    sim: t.Any, discovered: dict[str, t.Any], tmp_path: Path
) -> None:
    run = sync(sim, select_all(json.loads(json.dumps(discovered))), tmp_path)
    (schema,) = run.of_type("SCHEMA", ENTITY)
    assert schema["schema"]["properties"] == discovered["streams"][0]["schema"]["properties"]
    assert "missing from the catalog" not in run.stderr
    assert run.records(ENTITY)


def test_merge_keeps_catalog_definitions_and_order() -> None:
    catalog = {
        "type": "object",
        "properties": {"id": {"type": ["integer"]}, "a": {"type": ["string"]}, "old": {}},
    }
    described = {
        "type": "object",
        "properties": {"id": {"type": ["integer"]}, "a": {"type": ["number"]}, "b": {"x": 1}},
    }
    merged, added = add_missing_properties(catalog, described)
    assert added == ["b"]
    assert merged["properties"] == {
        "id": {"type": ["integer"]},
        "a": {"type": ["string"]},
        "old": {},
        "b": {"x": 1},
    }
    assert catalog["properties"].keys() == {"id", "a", "old"}  # the input is not changed
    assert add_missing_properties(catalog, {"properties": {"a": {}}}) == (catalog, [])
