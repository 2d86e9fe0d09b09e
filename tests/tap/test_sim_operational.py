"""Operational behaviour of the tap CLI against the in-process WMS simulator: OAuth token
lifetime, the client-side throttle, the bookmark clamp, discovery cost and secret hygiene.

The simulator runs in this process, so a test can count what its token endpoint issues by
wrapping `sim.app.auth` (token requests are admin calls: `sim.stats()` does not count them).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tap_helpers import base_config, run_tap

sim_testing = pytest.importorskip("wms_simulator.testing")
from tap_oracle_wms.settings import DEFAULT_ENTITIES  # noqa: E402
from wms_simulator.model import catalogue_names  # noqa: E402

MAIN = ["order_hdr", "order_dtl"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RUN_START = re.compile(r"Incremental 'order_hdr' from .* \(run start (\S+)\)")


class TokenCounter:
    """Counts client authentications and tokens issued by the simulator; keeps the tokens."""

    def __init__(self, sim: t.Any) -> None:
        auth = sim.app.auth
        self.tokens: list[str] = []
        self.client_checks = 0
        self._lock = threading.Lock()
        issue, client_ok = auth.issue, auth.client_ok

        def counting_issue() -> dict[str, object]:
            answer = issue()
            with self._lock:
                self.tokens.append(str(answer["access_token"]))
            return answer

        def counting_client_ok(client_id: str | None, secret: str | None) -> bool:
            with self._lock:
                self.client_checks += 1
            return client_ok(client_id, secret)

        auth.issue = counting_issue
        auth.client_ok = counting_client_ok


def oauth_config(sim: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    oauth = {
        "auth_method": "oauth2",
        "oauth_token_url": sim.token_url,
        "oauth_client_id": sim.client_id,
        "oauth_client_secret": sim.client_secret,
    }
    config = base_config(sim, **{**oauth, **overrides})
    config.pop("username")
    config.pop("password")
    return config


def list_requests(stats: dict[str, t.Any], entity: str) -> int:
    kinds = stats["requests"].get(entity, {})
    return kinds.get("sequenced", 0) + kinds.get("paged", 0)


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


# --- 1. OAuth2 client credentials ------------------------------------------------------------


def test_oauth_token_is_reused_and_refreshed_before_expiry() -> None:
    # 5 s tokens (refreshed at 4.5 s), ~0.3 s per page, 24+ pages: the run (> 7 s)
    # outlives its first token.
    with sim_testing.running_simulator(scale=400, seed=5, page_delay=0.3, token_ttl=5) as sim:
        counter = TokenCounter(sim)
        run = run_tap(oauth_config(sim, entities=["allocation"], page_size=10))
        assert run.returncode == 0, run.stderr[-2000:]
        assert sorted(run.ids("allocation")) == sorted(sim.store.ids("allocation"))
        stats = sim.stats()
    assert "401" not in stats["statuses"], stats["statuses"]
    assert set(stats["statuses"]) <= {"200", "404"}
    pages = list_requests(stats, "allocation")
    assert pages >= 24
    # Refreshed ahead of expiry (no 401 above), but not per request.
    assert 2 <= len(counter.tokens) <= pages // 4, (len(counter.tokens), pages)
    assert counter.client_checks == len(counter.tokens)  # no failed token request


def test_oauth_wrong_client_secret_fails_fast_without_the_secret() -> None:
    wrong = "Wrong-Client-S3cret-987"
    with sim_testing.running_simulator(scale=100, seed=5) as sim:
        counter = TokenCounter(sim)
        run = run_tap(
            oauth_config(sim, entities=["order_hdr"], oauth_client_secret=wrong, max_retries=5)
        )
        stats = sim.stats()
    assert run.returncode != 0
    assert run.messages == []  # nothing emitted, not even a SCHEMA
    assert counter.client_checks == 1  # one token request, no retries
    assert counter.tokens == []
    assert stats["total"] == 0  # no API request was even sent
    assert "Retry " not in run.stderr
    assert "401" in run.stderr
    assert "invalid_client" in run.stderr
    assert "access token" in run.stderr
    # The last line names what failed and as whom, like a Basic 401 does.
    last = run.stderr.strip().splitlines()[-1]
    assert "WMSAuthError" in last
    assert sim.token_url in last
    assert f"oauth client '{sim.client_id}'" in last
    assert "oauth_client_secret" in last
    assert wrong not in run.stdout + run.stderr
    basic = base64.b64encode(f"{sim.client_id}:{wrong}".encode()).decode()
    assert basic not in run.stdout + run.stderr


# --- 2. Throttle -------------------------------------------------------------------------------


# 120.0: the SDK reads a non-integral JSON number as a Decimal (it once crashed the throttle).
@pytest.mark.parametrize("per_minute", [120, 120.0])
def test_max_requests_per_minute_paces_every_request(per_minute: float) -> None:
    with sim_testing.running_simulator(scale=400, seed=5) as sim:
        config = base_config(
            sim, entities=["order_hdr"], page_size=10, max_requests_per_minute=per_minute
        )
        started = time.monotonic()
        run = run_tap(config)
        elapsed = time.monotonic() - started
        stats = sim.stats()
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(run.ids("order_hdr")) == sorted(sim.store.ids("order_hdr"))
    requests = stats["total"]  # catalogue, describe and the pages
    assert requests >= 6, stats["requests"]
    # n requests at R/min cannot be sent faster than (n - 1) * 60 / R (lower bound only).
    assert elapsed >= (requests - 1) * 60.0 / per_minute - 0.2, (elapsed, requests)


# --- 3. The incremental bookmark never passes the run start -----------------------------------


def change_at(sim: t.Any, when: datetime, **counts: t.Any) -> t.Any:
    """`apply_changes` with the change clock set so the first changed row gets `mod_ts` =
    `when` (+ at most a second per further row). The simulator's clock only moves forward
    and starts after its newest row; both are overridden here, in the test only."""
    store = sim.store
    original = store.newest_inst
    store.newest_inst = lambda snap, name: 0
    try:
        store.clock = int((when - EPOCH) / timedelta(microseconds=1)) - 60_000_000
        return sim.apply_changes(**counts)
    finally:
        store.newest_inst = original


def test_bookmark_is_clamped_to_run_start_and_later_commits_are_read() -> None:
    with sim_testing.running_simulator(scale=400, seed=11) as sim:
        config = base_config(sim, entities=["order_hdr"], enable_incremental=True, page_size=50)
        # Rows stamped an hour ahead (clock skew, or a commit racing the run).
        future = change_at(sim, datetime.now(UTC) + timedelta(hours=1), update=3)
        future_ids = set(future.ids("order_hdr", "updated"))
        assert len(future_ids) == 3
        before = datetime.now(UTC)
        first = run_tap(config)
        after = datetime.now(UTC)
        assert first.returncode == 0, first.stderr[-2000:]
        assert future_ids <= set(first.ids("order_hdr"))
        newest = max(_utc(r["mod_ts"]) for r in first.records("order_hdr"))
        assert newest > after + timedelta(minutes=50)
        found = RUN_START.search(first.stderr)
        assert found, first.stderr[-2000:]
        run_start = _utc(found.group(1))
        assert before - timedelta(seconds=1) <= run_start <= after
        bookmarks = [
            _utc(s["value"]["bookmarks"]["order_hdr"]["replication_key_value"])
            for s in first.of_type("STATE")
            if "replication_key_value" in s["value"]["bookmarks"].get("order_hdr", {})
        ]
        assert bookmarks
        assert all(b <= run_start for b in bookmarks), (bookmarks[-1], run_start)
        assert bookmarks[-1] == run_start  # rows past the start move it up to the start only

        # Rows stamped just after the run started but committed after it read past them:
        # a bookmark at the newest row seen (an hour ahead) would skip them for good.
        late = change_at(sim, run_start + timedelta(seconds=1), update=4)
        late_ids = set(late.ids("order_hdr", "updated"))
        assert len(late_ids) == 4
        second = run_tap(config, state=first.last_state)
        assert second.returncode == 0, second.stderr[-2000:]
    got = {r["id"]: r for r in second.records("order_hdr")}
    assert late_ids <= set(got), sorted(late_ids - set(got))
    for rid in late_ids:
        stamped = _utc(got[rid]["mod_ts"])
        assert run_start < stamped < run_start + timedelta(seconds=10)
    final = _utc(second.last_state["bookmarks"]["order_hdr"]["replication_key_value"])
    assert run_start <= final <= datetime.now(UTC)


# --- 4. Discovery cost -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> t.Iterator[t.Any]:
    with sim_testing.running_simulator(scale=400, seed=7) as running:
        yield running


def test_discover_describes_only_the_configured_entities(sim: t.Any) -> None:
    sim.reset_stats()
    config = base_config(sim)  # no `entities`: the defaults
    run = run_tap(config, args=["--discover"])
    assert run.returncode == 0, run.stderr[-2000:]
    streams = json.loads(run.stdout)["streams"]
    assert sorted(s["tap_stream_id"] for s in streams) == sorted(DEFAULT_ENTITIES)
    requests = sim.stats()["requests"]
    described = {e: kinds["describe"] for e, kinds in requests.items() if "describe" in kinds}
    assert described == dict.fromkeys(DEFAULT_ENTITIES, 1)
    assert sum(kinds.get("catalog", 0) for kinds in requests.values()) == 1
    assert sum(list_requests(sim.stats(), e) for e in requests) == 0  # no data read


def test_discover_all_catalogue_entities(sim: t.Any) -> None:
    every = catalogue_names()
    assert len(every) > 50
    sim.reset_stats()
    run = run_tap(base_config(sim, entities=every), args=["--discover"])
    assert run.returncode == 0, run.stderr[-2000:]
    streams = json.loads(run.stdout)["streams"]
    assert sorted(s["tap_stream_id"] for s in streams) == sorted(every)
    assert all(s["schema"]["properties"] for s in streams)
    stats = sim.stats()
    described = {
        e: kinds["describe"] for e, kinds in stats["requests"].items() if "describe" in kinds
    }
    assert described == dict.fromkeys(every, 1)
    assert stats["total"] == len(every) + 1  # + the catalogue


def test_sync_with_a_catalog_describes_only_selected_entities(sim: t.Any, tmp_path: Path) -> None:
    everything = ["order_hdr", "item", "facility", "company"]
    discovered = run_tap(base_config(sim, entities=everything), args=["--discover"])
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    for stream in catalog["streams"]:
        root = next(m for m in stream["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = stream["tap_stream_id"] == "facility"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    sim.reset_stats()
    run = run_tap(base_config(sim, entities=everything), args=["--catalog", str(path)])
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(run.ids("facility")) == sorted(sim.store.ids("facility"))
    assert {m.get("stream") for m in run.of_type("RECORD")} == {"facility"}
    requests = sim.stats()["requests"]
    assert set(requests) <= {"", "facility"}, requests  # "" = the catalogue
    # The catalog carries the schema; the one describe is the check for fields WMS gained
    # since the catalog was made (test_schema_drift.py).
    assert requests.get("facility", {}).get("describe") == 1


# --- 5. Secrets never appear -------------------------------------------------------------------


def test_no_secret_token_or_header_in_debug_output() -> None:
    with sim_testing.running_simulator(scale=400, seed=5, token_ttl=2, page_delay=0.25) as sim:
        counter = TokenCounter(sim)
        debug = {"LOGLEVEL": "DEBUG"}
        oauth = run_tap(
            oauth_config(
                sim, entities=["order_hdr", "order_dtl"], page_size=10, enable_incremental=True
            ),
            env=debug,
        )
        assert oauth.returncode == 0, oauth.stderr[-2000:]
        basic = run_tap(
            base_config(sim, entities=["order_hdr"], page_size=10, enable_incremental=True),
            env=debug,
        )
        assert basic.returncode == 0, basic.stderr[-2000:]
        assert "DEBUG" in oauth.stderr + basic.stderr  # the verbosity did apply
        assert len(counter.tokens) >= 2  # refreshes happened under DEBUG too
        forbidden = [
            sim.client_secret,
            sim.password,
            base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode(),
            base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode(),
            "Bearer ",
            "Authorization",
            *counter.tokens,
        ]
    for run in (oauth, basic):
        everything = run.stdout + run.stderr + json.dumps(run.last_state)
        leaked = [s for s in forbidden if s in everything]
        assert not leaked, leaked
