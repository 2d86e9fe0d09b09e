"""OAuth2 tokens the identity domain stops honouring before their announced expiry.

A 401 to a request made with a token costs one new token and one retry of that request, shared
by every request that met the same token; a 401 to the fresh token, or a refused token request,
ends the run with the credentials message. The simulator withdraws tokens after fixed request
counts (`withdraw_after_requests`), not by a clock, so the runs are the same on a loaded machine.
"""

from __future__ import annotations

import base64
import threading
import typing as t

import pytest
import requests
from tap_helpers import base_config, run_tap

sim_testing = pytest.importorskip("wms_simulator.testing")
from tap_oracle_wms.auth import build_authenticator, principal  # noqa: E402
from tap_oracle_wms.client import WMSAuthError, WMSClient  # noqa: E402
from wms_oauth import BearerAuth, Grant, TokenHolder, renewed  # noqa: E402
from wms_simulator.auth import UNAUTHENTICATED  # noqa: E402

WAIT = 30.0  # seconds a thread may wait for the others before the test fails


def oauth_config(sim: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    config = base_config(
        sim,
        auth_method="oauth2",
        oauth_token_url=sim.token_url,
        oauth_client_id=sim.client_id,
        oauth_client_secret=sim.client_secret,
        **overrides,
    )
    config.pop("username")
    config.pop("password")
    return config


def token_requests(sim: t.Any) -> dict[str, int]:
    return sim.app.auth.describe()["requests"]


def keep_issued_tokens(sim: t.Any) -> list[str]:
    """Every token the simulator issues from now on, to look for in the tap's output."""
    auth, issued = sim.app.auth, []
    issue = auth.issue

    def keeping_issue() -> dict[str, object]:
        answer = issue()
        issued.append(str(answer["access_token"]))  # list.append is atomic
        return answer

    auth.issue = keeping_issue
    return issued


def revoke_client_at(sim: t.Any, request: int) -> None:
    """The client's grant is revoked for good as WMS receives its `request`-th API request."""
    auth, seen = sim.app.auth, []
    check = auth.check

    def revoking_check(header: str | None) -> str:
        seen.append(1)
        if len(seen) == request:
            auth.revoke_client(sim.client_id)
        return check(header)

    auth.check = revoking_check


def forbidden_strings(sim: t.Any, tokens: t.Sequence[str]) -> list[str]:
    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    return [sim.client_secret, basic, "Bearer ", "Authorization", *tokens]


# --- the shared holder, driven from many threads -------------------------------------------


class HandClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_holder_refreshes_within_the_margin_of_expiry() -> None:
    clock, grants = HandClock(), iter(["t1", "t2", "t3"])
    holder = TokenHolder(lambda: Grant(next(grants), 30), clock)
    assert holder.current() == "t1"
    clock.now += 26.9  # a 30 s token is replaced 3 s (a tenth) before it expires
    assert holder.current() == "t1"
    clock.now += 0.2
    assert holder.current() == "t2"
    long = TokenHolder(lambda: Grant("h1", 3600), clock)
    assert long.current() == "h1"
    clock.now += 3539  # an hour-long token: a minute before
    assert long.current() == "h1" and long.fetches == 1


def concurrently(n: int, func: t.Callable[[], t.Any]) -> list[t.Any]:
    """Run `func` in `n` threads released together; results or exceptions, in no order."""
    start = threading.Barrier(n)
    out: list[t.Any] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait(WAIT)
        try:
            result = func()
        except Exception as exc:
            result = exc
        with lock:
            out.append(result)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(out) == n, "a thread did not finish"
    return out


def test_holder_renews_a_withdrawn_token_once_for_all_threads() -> None:
    n = 8
    asked = threading.Semaphore(0)
    names = iter(["first", "second", "third"])

    def fetch() -> Grant:
        if holder.fetches > 1:
            # The renewal waits until every thread has asked for one, so a holder that did
            # not keep the others out while it fetches would fetch again for each of them.
            for _ in range(n):
                assert asked.acquire(timeout=WAIT)
        return Grant(next(names), 3600)

    holder = TokenHolder(fetch)
    stale = holder.current()

    def renew() -> str:
        asked.release()
        return holder.renew(stale)

    assert concurrently(n, renew) == ["second"] * n
    assert holder.fetches == 2  # the first token and one renewal


def test_holder_shares_a_failed_renewal_instead_of_asking_again() -> None:
    calls = []

    def fetch() -> Grant:
        calls.append(1)
        if len(calls) > 1:
            raise WMSAuthError("token request refused: invalid_client")
        return Grant("only", 3600)

    holder = TokenHolder(fetch)
    stale = holder.current()
    results = concurrently(6, lambda: holder.renew(stale))
    assert all(isinstance(r, WMSAuthError) for r in results), results
    assert len(calls) == 2  # one refused token request for all six...
    with pytest.raises(WMSAuthError, match="invalid_client"):
        holder.current()  # ...and for the requests that come after
    assert len(calls) == 2


def test_tap_requests_in_parallel_meet_one_withdrawn_token_and_share_its_renewal() -> None:
    """Discovery describes entities in parallel: held at the server until all of them were
    sent with the withdrawn token, they are refused together and renew it once."""
    n = 6
    entities = ["allocation", "order_hdr", "order_dtl", "item", "location", "facility"]
    with sim_testing.running_simulator(scale=100, seed=5) as sim:
        config = oauth_config(sim)
        client = WMSClient(
            root=f"{sim.base_url}/wms/lgfapi/v10",
            authenticator=build_authenticator(config),
            who=principal(config),
            timeout=30,
            max_retries=0,
            backoff_seconds=0.01,
            per_minute=None,
            max_parallel=n,
        )
        assert client.catalogue()  # one token, in use
        auth = sim.app.auth
        assert auth.withdraw() == 1
        check, together = auth.check, threading.Barrier(n)
        refused: list[str] = []
        lock = threading.Lock()

        def held_check(header: str | None) -> str:
            status = check(header)
            with lock:
                first_round = status == UNAUTHENTICATED and len(refused) < n
                if first_round:
                    refused.append(header or "")
            if first_round:
                together.wait(WAIT)  # every request of the first round is in flight
            return status

        auth.check = held_check
        pending = list(entities)

        def describe_one() -> dict[str, t.Any]:
            with lock:
                entity = pending.pop()
            return client.describe(entity)

        described = concurrently(n, describe_one)
        assert all(isinstance(d, dict) and d.get("fields") for d in described), described
        assert len(set(refused)) == 1  # they all met the same token...
        assert token_requests(sim) == {"issued": 2, "refused": 0}  # ...and renewed it once
        assert sim.stats()["statuses"].get("401") == n  # and each was retried once


def test_bearer_auth_retries_once_then_hands_the_401_over() -> None:
    """The shared rule on a bare `requests` session, as wms-ops uses it."""
    with sim_testing.running_simulator(scale=100, seed=5) as sim:
        post = requests.post

        def fetch() -> Grant:
            body = post(
                sim.token_url,
                auth=(sim.client_id, sim.client_secret),
                data={"grant_type": "client_credentials"},
                timeout=30,
            ).json()
            return Grant(body["access_token"], body["expires_in"])

        holder = TokenHolder(fetch)
        session = requests.Session()
        session.auth = BearerAuth(holder)
        url = sim.entity_url("order_hdr")
        first = session.get(url, timeout=30)
        assert first.status_code == 200 and not renewed(first)
        sim.app.auth.withdraw()
        again = session.get(url, timeout=30)
        assert again.status_code == 200 and renewed(again)
        assert [r.status_code for r in again.history] == [401]
        assert holder.fetches == 2
        # A grant WMS refuses outright: one renewal, then the 401 is the caller's to report.
        sim.app.auth.check = lambda header: UNAUTHENTICATED
        refused = session.get(url, timeout=30)
        assert refused.status_code == 401 and renewed(refused)
        assert holder.fetches == 3
        assert sim.stats()["statuses"] == {"200": 2, "401": 3}
        # Authorising a request twice (the SDK does) arms the retry once.
        prepared = session.prepare_request(requests.Request("GET", url))
        assert len(session.auth(prepared).hooks["response"]) == 1


# --- the tap CLI ----------------------------------------------------------------------------


ENTITIES = ["allocation", "order_hdr", "order_dtl"]


@pytest.mark.parametrize(
    "reading",
    [{"prefetch_pages": True}, {"max_parallel_requests": 1}, {"max_parallel_requests": 4}],
)
def test_tokens_withdrawn_several_times_mid_run_cost_one_token_each(
    reading: dict[str, t.Any],
) -> None:
    with sim_testing.running_simulator(scale=800, seed=5) as sim:
        clean = run_tap(base_config(sim, entities=ENTITIES, page_size=10))
        assert clean.returncode == 0, clean.stderr[-2000:]
        issued = keep_issued_tokens(sim)
        # The identity domain withdraws each token once it served 16 requests. Reading in
        # parallel, a retry meets a second withdrawal (and fails, rightly) only if 15 other
        # requests overtake it: sparse enough that this never happens.
        sim.app.auth.withdraw_after_requests = 16
        sim.reset_stats()
        run = run_tap(oauth_config(sim, entities=ENTITIES, page_size=10, **reading))
        stats = sim.stats()
        assert run.returncode == 0, run.stderr[-3000:]
        for entity in ENTITIES:
            assert run.ids(entity) == sorted(sim.store.ids(entity))  # each once, in order
            assert run.records(entity) == clean.records(entity)
        withdrawals = sim.app.auth.withdrawals
        assert withdrawals >= 4  # several, spread over the run
        # Each withdrawal met by the requests then in flight, and each of those retried once...
        met = stats["statuses"]["401"]
        assert withdrawals <= met <= withdrawals * 4
        assert run.stderr.count("no longer honours") == met
        # ...with one new token between them.
        assert token_requests(sim) == {"issued": withdrawals + 1, "refused": 0}
        everything = run.stdout + run.stderr
        leaked = [s for s in forbidden_strings(sim, issued) if s in everything]
        assert not leaked, leaked


def test_the_run_of_the_issue_3s_tokens_withdrawn_early_200ms_pages() -> None:
    """The issue's run, where a clock withdraws the tokens. The issue's withdrawal at 2.5 s
    leaves 0.2 s before the tap's own refresh at 2.7 s, which a page may or may not fall in;
    at 1 s the tap's next page always meets the withdrawn token (1.7 s of pages to do it)."""
    with sim_testing.running_simulator(scale=300, seed=5, page_delay=0.2, token_ttl=3) as sim:
        sim.app.auth.revoke_after = 1.0
        # One page at a time, as in the issue: 18 pages take at least 3.6 s.
        config = oauth_config(sim, entities=["allocation"], page_size=10, max_parallel_requests=1)
        run = run_tap(config)
        stats = sim.stats()
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.ids("allocation") == sorted(sim.store.ids("allocation"))
        refused = stats["statuses"].get("401", 0)
        assert refused >= 2  # the run outlives several tokens...
        assert token_requests(sim)["issued"] == refused + 1  # ...each replaced once


def test_a_revoked_client_fails_fast_with_the_credentials_message() -> None:
    with sim_testing.running_simulator(scale=400, seed=5) as sim:
        issued = keep_issued_tokens(sim)
        revoke_client_at(sim, 10)
        run = run_tap(oauth_config(sim, entities=ENTITIES, page_size=10, max_retries=5))
        stats = sim.stats()
    assert run.returncode != 0
    assert sim.app.auth.withdrawals == 1
    assert token_requests(sim) == {"issued": 1, "refused": 1}  # one try, no loop
    # The requests in flight when the grant went (one per reader at most), none sent again.
    assert 1 <= stats["statuses"]["401"] <= 4
    assert "Retry " not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "WMSAuthError" in last and sim.token_url in last
    assert f"oauth client '{sim.client_id}'" in last
    assert "oauth_client_secret" in last  # what to check
    leaked = [s for s in forbidden_strings(sim, issued) if s in run.stdout + run.stderr]
    assert not leaked, leaked


def test_a_401_to_the_fresh_token_is_a_grant_error_with_the_message_of_today() -> None:
    """The identity domain still issues tokens, but WMS refuses them all (the client lost its
    lgfapi grant): one renewal, one retry, then today's message."""
    with sim_testing.running_simulator(scale=400, seed=5) as sim:
        auth, seen = sim.app.auth, []
        check = auth.check

        def refusing_check(header: str | None) -> str:
            seen.append(1)
            return UNAUTHENTICATED if len(seen) > 5 else check(header)

        auth.check = refusing_check
        run = run_tap(oauth_config(sim, entities=["allocation"], page_size=10, max_retries=5))
        stats = sim.stats()
    assert run.returncode != 0
    assert token_requests(sim) == {"issued": 2, "refused": 0}
    assert stats["statuses"]["401"] == 2  # the request and its one retry
    assert "Retry " not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "WMSAuthError: HTTP 401 reading entity 'allocation'" in last
    assert f"as oauth client '{sim.client_id}': not authorised" in last
    assert "check credentials and lgfapi read grants" in last
    assert sim.client_secret not in run.stdout + run.stderr


def test_basic_auth_401_fails_at_once() -> None:
    with sim_testing.running_simulator(scale=100, seed=5) as sim:
        run = run_tap(base_config(sim, entities=["allocation"], password="Wrong-Pa55"))
        stats = sim.stats()
    assert run.returncode != 0
    assert stats["total"] == 1 and stats["statuses"] == {"401": 1}  # the catalogue, once
    assert token_requests(sim) == {"issued": 0, "refused": 0}
    assert "HTTP 401 reading the entity catalogue" in run.stderr
    assert f"as user '{sim.username}': not authorised" in run.stderr
