"""Issue 17: a hostile WMS (or proxy) and values no schema expects, against the tap CLI.

Credentials never leave base_url's origin (nor the token URL's); one bad value never ends
the run nor drops its record; what already held (a 200 HTML page or cut JSON is retried, an
entity name like `../../etc` is refused before any request leaves the catalogue) keeps
holding. The simulator's hostile mode (`wms_simulator/hostile.py`) plays the WMS.
"""

from __future__ import annotations

import base64
import typing as t

import pytest
import requests
from tap_helpers import base_config, run_tap

sim_testing = pytest.importorskip("wms_simulator.testing")
from tap_oracle_wms.payloads import parse_body  # noqa: E402
from wms_oauth.origins import ForeignOriginError, OriginBoundSession, origin_of  # noqa: E402
from wms_simulator.hostile import HOSTILE_VALUES  # noqa: E402

FOREIGN_WARNING = "next_page names another origin"


@pytest.fixture
def fresh_sim() -> t.Iterator[t.Any]:
    with sim_testing.running_simulator(scale=300, seed=17) as running:
        yield running


def oauth_config(sim: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    config = base_config(sim, auth_method="oauth2", oauth_token_url=sim.token_url,
                         oauth_client_id=sim.client_id,
                         oauth_client_secret=sim.client_secret, **overrides)
    config.pop("username")
    config.pop("password")
    return config


# --- defect 1: credentials stay on base_url's origin ------------------------------------------

@pytest.mark.parametrize("auth", ["basic", "oauth2"])
@pytest.mark.parametrize("incremental", [False, True])
def test_a_foreign_next_page_never_receives_credentials_and_the_run_is_exact(
    fresh_sim: t.Any, auth: str, incremental: bool
) -> None:
    fresh_sim.set_hostile(foreign_next_page=True)
    make = oauth_config if auth == "oauth2" else base_config
    config = make(fresh_sim, entities=["order_hdr", "allocation"], page_size=20,
                  page_mode="sequenced", enable_incremental=incremental)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    catcher = fresh_sim.app.hostile.catcher
    assert catcher.received == [] and catcher.requests == 0
    for entity in ("order_hdr", "allocation"):  # read on from the keyset position instead
        assert sorted(set(run.ids(entity))) == sorted(fresh_sim.store.ids(entity))
    # One warning naming the foreign origin, not one per page.
    assert run.stderr.count(FOREIGN_WARNING) == 1, run.stderr[-3000:]
    assert catcher.origin in run.stderr


def test_explicit_default_ports_are_the_same_origin() -> None:
    assert origin_of("https://wms.example.com:443/x?a=1") == origin_of("https://WMS.example.com/y")
    assert origin_of("http://h:80/") == origin_of("http://h/")
    assert origin_of("https://h:8443/") != origin_of("https://h/")
    assert origin_of("http://h/") != origin_of("https://h/")
    assert origin_of("https://h.evil/") != origin_of("https://h/")
    # Real WMS links carry the explicit :443 (wms-api.md): they are followed.
    from tap_oracle_wms.links import LinkCheck

    links = LinkCheck("https://tenant.example.com/prod/wms/lgfapi/v10")
    assert links.follows("https://tenant.example.com:443/prod/wms/lgfapi/v10/entity/x/?cursor=a",
                         "x")
    assert not links.follows("https://tenant.example.com:8443/prod/wms/lgfapi/v10/entity/x/", "x")
    assert not links.follows("/prod/wms/lgfapi/v10/entity/x/?cursor=a", "x")  # not absolute
    assert list(links.dropped.values()) == [1, 1]


def test_the_session_itself_refuses_another_origin(fresh_sim: t.Any) -> None:
    """The check sits where the authenticated request is sent: a redirect or any code path
    that builds a foreign URL is refused there, before a byte leaves."""
    fresh_sim.set_hostile(foreign_next_page=True)
    catcher = fresh_sim.app.hostile.catcher
    session = OriginBoundSession(fresh_sim.base_url)
    session.auth = (fresh_sim.username, fresh_sim.password)
    assert session.get(fresh_sim.entity_url("order_hdr"), timeout=10).status_code == 200
    with pytest.raises(ForeignOriginError, match=catcher.origin):
        session.get(f"{catcher.origin}/dev/wms/lgfapi/v10/entity/", timeout=10)
    assert catcher.requests == 0


# --- defect 2: one bad value never ends the run ------------------------------------------------

def _planted(sim: t.Any, entity: str) -> dict[int, tuple[t.Any, str]]:
    return sim.app.hostile.planted(sim.store.entity(entity), sim.store.ids(entity))


def _expected(quirk: t.Any) -> t.Any:
    """What the tap emits for a planted value: as sent, as text, or U+FFFD for a surrogate."""
    if quirk.name == "lone_surrogate":
        return "\ufffd lone"
    return quirk.value


@pytest.mark.parametrize("incremental", [False, True])
def test_hostile_values_go_out_as_sent_and_the_run_ends_well(fresh_sim: t.Any,
                                                             incremental: bool) -> None:
    fresh_sim.set_hostile(values_every=3)
    config = base_config(fresh_sim, entities=["order_hdr"], page_size=25,
                         page_mode="sequenced", enable_incremental=incremental)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    records = {r["id"]: r for r in run.records("order_hdr")}
    assert sorted(records) == sorted(fresh_sim.store.ids("order_hdr"))  # none dropped
    planted = _planted(fresh_sim, "order_hdr")
    assert {q.name for q, _ in planted.values()} == {q.name for q in HOSTILE_VALUES}
    for rid, (quirk, field) in planted.items():
        got = records[rid][field]
        assert got == _expected(quirk), (rid, quirk.name, field, str(got)[:80])
        assert type(got) is type(_expected(quirk)), (rid, quirk.name)
    # A lone surrogate: one warning per field, not per record.
    surrogate_fields = {f for q, f in planted.values() if q.name == "lone_surrogate"}
    assert run.stderr.count("lone UTF-16 surrogate") == len(surrogate_fields)
    if incremental:  # a value sent as text is never a bookmark
        mark = run.last_state["bookmarks"]["order_hdr"]["replication_key_value"]
        assert mark.endswith("+00:00")


def test_a_page_msgspec_refuses_is_parsed_again_and_a_cut_one_is_still_broken() -> None:
    whole = b'{"results":[{"id":1,"note":"\\ud800 x","n":NaN,"big":100000000000000000000000000000000000000007}],"next_page":null}'  # noqa: E501
    payload = parse_body(whole, what="entity 'x'", warned=set())
    assert payload["results"] == [{"id": 1, "note": "\ufffd x", "n": "NaN",
                                   "big": 10**41 + 7}]
    with pytest.raises(ValueError):
        parse_body(whole[: len(whole) // 2], what="entity 'x'")


def test_an_integer_past_64_bits_is_exact(fresh_sim: t.Any) -> None:
    """Parsed and written with every digit (orjson would refuse it; msgspec does not)."""
    fresh_sim.set_hostile(values_every=1)
    run = run_tap(base_config(fresh_sim, entities=["order_hdr"], page_size=50))
    assert run.returncode == 0, run.stderr[-3000:]
    assert str(10**40 + 7) in run.stdout
    huge = [r for r in run.records("order_hdr") if r.get("priority") == 10**40 + 7]
    assert huge, "no record carried the integer past 64 bits"


# --- what held already: retried broken answers, a refused entity name -------------------------

@pytest.mark.parametrize("broken", ["html_answers", "cut_answers"])
def test_a_200_html_page_or_cut_json_is_retried_and_the_run_is_exact(fresh_sim: t.Any,
                                                                      broken: str) -> None:
    fresh_sim.set_hostile({broken: 3})
    run = run_tap(base_config(fresh_sim, entities=["order_hdr"], page_size=40,
                              page_mode="sequenced", max_retries=6))
    assert run.returncode == 0, run.stderr[-3000:]
    assert fresh_sim.app.hostile.describe()[broken] == 0  # all three were served
    assert "Retry 1/6" in run.stderr
    ids = run.ids("order_hdr")
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(fresh_sim.store.ids("order_hdr"))
    truth = {r["id"]: r for r in fresh_sim.truth("order_hdr")}
    for rec in run.records("order_hdr"):
        assert rec["order_nbr"] == truth[rec["id"]]["order_nbr"]
        assert rec["total_orig_ord_qty"] == float(truth[rec["id"]]["total_orig_ord_qty"])


def test_an_entity_named_like_a_path_is_refused_and_nothing_leaves_the_catalogue(
    fresh_sim: t.Any,
) -> None:
    fresh_sim.reset_stats()
    run = run_tap(base_config(fresh_sim, entities=["../../etc", "order_hdr"]))
    assert run.returncode != 0
    assert "unknown entity '../../etc'" in run.stderr
    assert run.messages == []
    stats = fresh_sim.stats()
    kinds = {(e, k) for e, counts in stats["requests"].items() for k in counts}
    assert kinds == {("", "catalog")}, stats["requests"]


def test_basic_credentials_reach_only_the_tenant(fresh_sim: t.Any) -> None:
    """What the foreign origin would have seen on the old code: the Basic header."""
    fresh_sim.set_hostile(foreign_next_page=True)
    run = run_tap(base_config(fresh_sim, entities=["order_dtl"], page_size=15))
    assert run.returncode == 0, run.stderr[-3000:]
    secret = base64.b64encode(f"{fresh_sim.username}:{fresh_sim.password}".encode()).decode()
    assert all(secret not in h for h in fresh_sim.app.hostile.catcher.received)
    assert fresh_sim.app.hostile.catcher.requests == 0
    assert requests.get(f"{fresh_sim.base_url}/_sim/hostile", timeout=10).json()[
        "foreign_origin"]["authorization_received"] == 0


def test_ties_past_a_page_with_only_foreign_links_stop_clearly_instead_of_looping() -> None:
    """Over 10 rows share one `mod_ts`, pages hold 10 and every link is foreign: the position
    alone cannot go on, so the incremental stops naming why (it never asks the same page
    forever, and never follows the link)."""
    with sim_testing.running_simulator(scale=3000, seed=3) as sim:
        report = sim.apply_changes(tie=40, entities=["order_hdr"])
        assert len(report.ids("order_hdr", "tied")) > 10
        sim.set_hostile(foreign_next_page=True)
        run = run_tap(base_config(sim, entities=["order_hdr"], page_size=10,
                                  enable_incremental=True))
        assert run.returncode != 0
        assert "more than a page of rows at position" in run.stderr
        assert sim.app.hostile.catcher.requests == 0


def test_a_date_time_in_the_tap_form_that_is_no_instant_never_becomes_a_bookmark() -> None:
    from tap_oracle_wms.records import is_utc_text, utc_or_as_sent

    bad = "2025-13-45T99:00:00.000000+00:00"
    assert utc_or_as_sent(bad) == bad  # goes out as sent, for the target to quarantine
    assert not is_utc_text(bad)
    assert is_utc_text("2025-05-31T19:57:42.738709+00:00")
