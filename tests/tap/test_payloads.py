"""Real payloads: fields describe lacks, sentinel FKs, exact decimals, blank texts, and the
404 that may mean "not readable by this user"."""

from __future__ import annotations

import typing as t
from decimal import Decimal

import pytest
from sim_edits import patch_records
from tap_helpers import base_config, run_tap

from tap_oracle_wms.records import RecordPlan, is_sentinel_fk

sim_testing = pytest.importorskip("wms_simulator.testing")

DASHES = {"id": 0, "key": "-----------", "url": ""}
STAR = {"id": 0, "key": "*", "url": ""}
REAL_ZERO = {"id": 0, "key": "Nao Necessario", "url": "https://t/x/property_prompt_mode/0"}
PROPS = {
    "id": {"type": ["integer"]},
    "wave_id": {"type": ["integer", "null"]},
    "wave_id_key": {"type": ["string", "null"]},
    "qty": {"type": ["number", "null"]},
    "note": {"type": ["string", "null"]},
}


def test_sentinel_fks_are_recognised_and_a_real_id_zero_is_not() -> None:
    assert is_sentinel_fk(DASHES) and is_sentinel_fk(STAR)
    assert not is_sentinel_fk(REAL_ZERO)
    assert not is_sentinel_fk({"id": 0, "key": "", "url": ""})  # no placeholder: keep
    assert not is_sentinel_fk({"id": 48, "key": "*", "url": ""})


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "general-path"])
def test_sentinel_fk_setting_null_or_keep(fast: bool) -> None:
    raws = [{"id": 1, "wave_id": DASHES, "qty": "540", "note": ""},
            {"id": 2, "wave_id": STAR, "qty": "11.01", "note": ""},
            {"id": 3, "wave_id": REAL_ZERO, "qty": "0", "note": ""}]
    if not fast:
        raws[0]["extra_only_here"] = None  # a different shape takes the general path
    nulled = RecordPlan(PROPS).flatten_page([dict(r) for r in raws])
    assert [(r["wave_id"], r["wave_id_key"]) for r in nulled] == [
        (None, None), (None, None), (0, "Nao Necessario")]
    kept = RecordPlan(PROPS, null_sentinels=False).flatten_page([dict(r) for r in raws])
    assert [(r["wave_id"], r["wave_id_key"]) for r in kept] == [
        (0, "-----------"), (0, "*"), (0, "Nao Necessario")]
    assert [r["qty"] for r in nulled] == [Decimal("540"), Decimal("11.01"), Decimal("0")]
    assert all(r["note"] == "" for r in nulled)  # blank text stays blank, never null


@pytest.fixture
def fresh_sim() -> t.Iterator[t.Any]:
    with sim_testing.running_simulator(scale=300, seed=21, environment="dev") as running:
        yield running


def test_a_field_describe_lacks_appearing_mid_run_is_loaded_and_logged_once(fresh_sim) -> None:
    entity = "allocation"
    ids = fresh_sim.store.ids(entity)
    later = ids[len(ids) // 2:]
    patch_records(fresh_sim, entity, later, lambda r: {
        **r, "lpn_weight": "12.500", "zone_id": {"id": 7, "key": "Z7", "url": ""}})
    run = run_tap(base_config(fresh_sim, entities=[entity], page_size=25,
                              max_parallel_requests=2, min_partition_ids=40))
    assert run.returncode == 0, run.stderr[-2000:]
    schemas = run.of_type("SCHEMA", entity)
    assert "lpn_weight" not in schemas[0]["schema"]["properties"]
    grown = schemas[-1]["schema"]["properties"]
    assert grown["lpn_weight"] == {"type": ["string", "null"]}  # exact text, not guessed
    assert grown["zone_id"]["type"] == ["integer", "null"] and "zone_id_key" in grown
    # The SCHEMA that adds the field comes before the first record carrying it.
    first_with = next(i for i, m in enumerate(run.messages)
                      if m["type"] == "RECORD" and "lpn_weight" in m["record"])
    grown_at = next(i for i, m in enumerate(run.messages)
                    if m["type"] == "SCHEMA" and "lpn_weight" in m["schema"]["properties"])
    assert grown_at < first_with
    by_id = {r["id"]: r for r in run.records(entity)}
    assert set(by_id) == set(ids)
    for rid in later:
        assert by_id[rid]["lpn_weight"] == "12.500"
        assert (by_id[rid]["zone_id"], by_id[rid]["zone_id_key"]) == (7, "Z7")
    warnings = [line for line in run.stderr.splitlines() if "describe lacks" in line]
    assert len(warnings) == 2, warnings  # once per field, not once per record
    assert "lpn_weight" in warnings[0] + warnings[1]


def test_unfiltered_404_warns_empty_or_not_readable(fresh_sim) -> None:
    run = run_tap(base_config(fresh_sim, entities=["appointment"]))
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.of_type("RECORD")
    assert "empty, or not readable by" in run.stderr
    assert len(run.of_type("ACTIVATE_VERSION", "appointment")) == 2  # an empty snapshot
