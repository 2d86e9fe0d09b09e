"""End-to-end behaviour of the tap CLI against the in-process WMS simulator (real HTTP)."""

from __future__ import annotations

import json
import re
import typing as t
from datetime import UTC, datetime, timedelta

import pytest
from tap_helpers import base_config, run_tap, run_tap_and_kill

sim_testing = pytest.importorskip("wms_simulator.testing")

MAIN = ["allocation", "order_hdr", "order_dtl"]
UTC_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")


@pytest.fixture(scope="module")
def sim() -> t.Iterator[t.Any]:
    """A read-only simulator shared by the tests that change nothing."""
    with sim_testing.running_simulator(scale=600, seed=7, environment="dev") as running:
        yield running


@pytest.fixture
def fresh_sim() -> t.Iterator[t.Any]:
    """A private simulator for tests that change data or inject faults."""
    with sim_testing.running_simulator(scale=400, seed=11, environment="dev") as running:
        yield running


@pytest.fixture
def slow_sim() -> t.Iterator[t.Any]:
    """Slow pages, so that a kill lands mid-run rather than after the last page."""
    with sim_testing.running_simulator(scale=400, seed=13, page_delay=0.1) as running:
        yield running


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.mark.parametrize(("page_mode", "prefetch"), [("sequenced", False), ("paged", True)])
def test_full_sync_yields_every_id_once(sim: t.Any, page_mode: str, prefetch: bool) -> None:
    run = run_tap(base_config(sim, entities=MAIN, page_mode=page_mode, prefetch_pages=prefetch))
    assert run.returncode == 0, run.stderr[-2000:]
    for entity in MAIN:
        ids = run.ids(entity)
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(sim.store.ids(entity))
        markers = run.of_type("ACTIVATE_VERSION", entity)
        assert len(markers) == 2
        assert markers[0]["version"] == markers[1]["version"]
        assert {m["version"] for m in run.of_type("RECORD", entity)} == {markers[0]["version"]}
    # A finished snapshot leaves state that starts the next full sync from scratch.
    assert all("full_progress" not in s for s in run.last_state["bookmarks"].values())


def test_records_are_flat_utc_and_exact(sim: t.Any) -> None:
    run = run_tap(base_config(sim, entities=["allocation"]))
    assert run.returncode == 0, run.stderr[-2000:]
    schema = run.of_type("SCHEMA", "allocation")[0]
    assert schema["key_properties"] == ["id"]
    props = schema["schema"]["properties"]
    assert props["mod_ts"]["format"] == "date-time"
    assert props["alloc_qty"]["type"] == ["number", "null"]
    assert "order_dtl_id_key" in props
    assert "url" not in props
    by_id = {r["id"]: r for r in run.records("allocation")}
    decimal_line = re.search(r'"alloc_qty":(-?[0-9.]+)', run.stdout)
    assert decimal_line is not None
    for rid, record in list(by_id.items())[:200]:
        raw = sim.store.record("allocation", rid)
        assert UTC_FORM.match(record["mod_ts"])
        assert _utc(record["mod_ts"]) == _utc(raw["mod_ts"])  # same instant, any offset
        fk = raw.get("order_dtl_id")
        if isinstance(fk, dict):
            assert record["order_dtl_id"] == fk["id"]
            assert record["order_dtl_id_key"] == fk["key"]
        assert not any(k == "url" or k.endswith("_set") for k in record)


def test_404_on_empty_filter_is_no_rows(sim: t.Any) -> None:
    config = base_config(
        sim,
        entities=["order_hdr"],
        entity_filters={"order_hdr": {"order_nbr": "NO-SUCH-ORDER-XYZ"}},
    )
    run = run_tap(config)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("order_hdr") == []
    assert len(run.of_type("ACTIVATE_VERSION", "order_hdr")) == 2


def test_incremental_ties_and_late_commits_are_not_lost(fresh_sim: t.Any) -> None:
    config = base_config(fresh_sim, entities=MAIN, enable_incremental=True, page_size=50)
    before = datetime.now(UTC)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr[-2000:]
    state = first.last_state
    for entity in MAIN:
        bookmark = state["bookmarks"][entity]["replication_key_value"]
        assert UTC_FORM.match(bookmark)
        newest = max(_utc(r["mod_ts"]) for r in first.records(entity))
        if newest < before:
            assert _utc(bookmark) == newest  # the newest instant, across offsets
        else:  # rows stamped after the run started: clamped to the run start
            assert before - timedelta(seconds=5) <= _utc(bookmark) <= datetime.now(UTC)
    report = fresh_sim.apply_changes(update=10, insert=5, tie=30, late=3)
    second = run_tap(config, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    for entity in MAIN:
        changed = _changed_ids(report, entity)
        assert changed, f"no changes reported for {entity}: {report!r}"
        got = set(second.ids(entity))
        assert changed <= got, f"{entity}: lost {sorted(changed - got)[:10]}"
        _assert_every_state_resumable(second, entity)


def _assert_every_state_resumable(run: t.Any, entity: str, lookback_minutes: int = 5) -> None:
    """The bookmark moves only past completed mod_ts windows: a STATE may only carry a bookmark
    that every row written after it is at or past (less the lookback a rerun re-reads), or a
    run killed there would lose rows."""
    floor = None
    for message in run.messages:
        if message["type"] == "STATE":
            mark = (message["value"]["bookmarks"].get(entity) or {}).get("replication_key_value")
            if mark:
                floor = _utc(mark) - timedelta(minutes=lookback_minutes)
        elif message["type"] == "RECORD" and message["stream"] == entity and floor:
            assert _utc(message["record"]["mod_ts"]) >= floor, (entity, message["record"], floor)


def _changed_ids(report: t.Any, entity: str) -> set[int]:
    """Ids the simulator inserted, updated, tied or committed late (not deleted)."""
    return {
        rid
        for action in ("updated", "inserted", "tied", "late")
        for rid in report.ids(entity, action)
    }


@pytest.mark.parametrize("incremental", [False, True])
def test_killed_run_resumes_from_last_state(slow_sim: t.Any, incremental: bool) -> None:
    fresh_sim = slow_sim
    config = base_config(
        fresh_sim, entities=["allocation"], page_size=20, enable_incremental=incremental,
        max_parallel_requests=3, min_partition_ids=60,  # full: several id ranges at once
    )
    killed = run_tap_and_kill(config, after_states=4)
    assert killed.returncode != 0
    state = killed.last_state
    assert state is not None
    assert len(killed.of_type("ACTIVATE_VERSION")) < 2  # killed mid-snapshot
    entity_state = state["bookmarks"]["allocation"]
    if incremental:
        assert entity_state["replication_key_value"]
    else:
        assert any(r[2] for r in entity_state["full_progress"]["ranges"])
    resumed = run_tap(config, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    got = set(killed.ids("allocation")) | set(resumed.ids("allocation"))
    assert got == set(fresh_sim.store.ids("allocation"))
    if not incremental:
        # The resumed snapshot keeps its version and ends with the end marker.
        version = entity_state["full_progress"]["version"]
        assert {m["version"] for m in resumed.of_type("ACTIVATE_VERSION")} == {version}
        ranges = entity_state["full_progress"]["ranges"]
        assert len(ranges) > 1, "not partitioned: the test proves nothing"
        # Each range resumes after its last written id; finished ranges are not read again:
        # every id the rerun reads lies in a range left unfinished, past its position.
        for rid in resumed.ids("allocation"):
            assert any(
                (r[0] is None or rid >= r[0]) and (r[1] is None or rid < r[1])
                and (r[2] is None or rid > r[2])
                for r in ranges
            ), (rid, ranges)
        # Ids the killed run wrote after its last STATE are read again (at most a page per
        # range); nothing before a range's position is.
        assert len(set(killed.ids("allocation")) & set(resumed.ids("allocation"))) <= 20 * 6


def test_retries_429_5xx_drops_and_truncation(fresh_sim: t.Any) -> None:
    fresh_sim.set_faults(
        sequence=["429", "500", "drop", "truncate", "503", "502", "ok", "truncate"],
        retry_after=0,
    )
    run = run_tap(base_config(fresh_sim, entities=["order_hdr"], max_retries=6))
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(run.ids("order_hdr")) == sorted(fresh_sim.store.ids("order_hdr"))
    assert "Retry " in run.stderr


def test_retry_after_is_honoured(fresh_sim: t.Any) -> None:
    fresh_sim.set_faults(sequence=["429"], retry_after=1)
    run = run_tap(base_config(fresh_sim, entities=["allocation"], retry_backoff_seconds=0.01))
    assert run.returncode == 0, run.stderr[-2000:]
    waits = [float(w) for w in re.findall(r"Retry 1/\d+ in ([0-9.]+)s", run.stderr)]
    assert waits and waits[0] >= 1.0


def test_fails_clearly_after_max_retries(fresh_sim: t.Any) -> None:
    config = base_config(fresh_sim, entities=["order_dtl"], max_retries=2, page_size=50)
    # Two one-row bound queries, two pages, then the WMS keeps failing.
    fresh_sim.set_faults(sequence=["ok", "ok", "ok", "ok", *(["503"] * 10)])
    run = run_tap(config)
    assert run.returncode != 0
    assert "Giving up on http" in run.stderr
    assert "after 3 attempts" in run.stderr
    assert "503" in run.stderr
    # What was emitted before the failure is valid: a resume finishes the snapshot.
    state = run.last_state
    ranges = state["bookmarks"]["order_dtl"]["full_progress"]["ranges"]
    assert max(r[2] for r in ranges if r[2] is not None) == max(run.ids("order_dtl"))
    fresh_sim.set_faults()
    resumed = run_tap(config, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    got = set(run.ids("order_dtl")) | set(resumed.ids("order_dtl"))
    assert got == set(fresh_sim.store.ids("order_dtl"))


SECRET = "Recognisable-S3cret-Pa55"


def test_401_fails_at_once_naming_entity_and_user_without_secret(sim: t.Any) -> None:
    run = run_tap(base_config(sim, entities=["order_hdr"], password=SECRET, max_retries=5))
    assert run.returncode != 0
    assert "401" in run.stderr
    assert "order_hdr" in run.stderr
    assert f"user '{sim.username}'" in run.stderr
    assert "Retry " not in run.stderr  # no retries on auth failures
    assert SECRET not in run.stdout + run.stderr
    assert not run.of_type("RECORD")


def test_oauth2_and_no_secrets_anywhere(sim: t.Any) -> None:
    config = base_config(
        sim,
        entities=["allocation"],
        auth_method="oauth2",
        oauth_token_url=sim.token_url,
        oauth_client_id=sim.client_id,
        oauth_client_secret=sim.client_secret,
        username=None,
        password=None,
    )
    config = {k: v for k, v in config.items() if v is not None}
    run = run_tap(config)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(run.ids("allocation")) == sorted(sim.store.ids("allocation"))
    everything = run.stdout + run.stderr
    for secret in (sim.client_secret, sim.password, "Bearer ", "Authorization"):
        assert secret not in everything
    basic = run_tap(base_config(sim, entities=["allocation"]))
    assert sim.password not in basic.stdout + basic.stderr
    about = run_tap({}, args=["--about", "--format", "json"])
    assert sim.password not in about.stdout + about.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"entities": ["order_hdr", "no_such_entity"]}, "unknown entity 'no_such_entity'"),
        ({"page_size": 5000}, "5000"),
        ({"base_url": "not a url"}, "base_url"),
        ({"password": None}, "needs setting 'password'"),
    ],
)
def test_bad_settings_rejected_before_any_record(
    sim: t.Any, overrides: dict[str, t.Any], message: str
) -> None:
    config = {k: v for k, v in {**base_config(sim), **overrides}.items() if v is not None}
    run = run_tap(config)
    assert run.returncode != 0
    assert message in run.stderr
    assert run.messages == []


def test_discovery_lists_configured_entities(sim: t.Any) -> None:
    config = base_config(sim, entities=MAIN, enable_incremental=True)
    run = run_tap(config, args=["--discover"])
    assert run.returncode == 0, run.stderr[-2000:]
    catalog = json.loads(run.stdout)
    entries = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert sorted(entries) == sorted(MAIN)
    for entry in entries.values():
        assert entry["key_properties"] == ["id"]
        assert entry["replication_key"] == "mod_ts"
        assert entry["schema"]["properties"]["mod_ts"]["format"] == "date-time"
