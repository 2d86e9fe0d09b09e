"""Tokens withdrawn early: now, after N seconds or N requests of their life, a client for good.

The simulator's clock is turned by hand here (``auth.clock``), so nothing depends on timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wms_simulator.auth import SCOPE
from wms_simulator.testing import SimulatorHandle, running_simulator


class HandClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tsim() -> Iterator[SimulatorHandle]:
    with running_simulator(scale=100, seed=3, token_ttl=60) as handle:
        handle.app.auth.clients["other_client"] = "other_secret"
        yield handle


def token(sim: SimulatorHandle, client: str | None = None, secret: str | None = None) -> Any:
    return requests.post(
        sim.token_url,
        auth=(client or sim.client_id, secret or sim.client_secret),
        data={"grant_type": "client_credentials", "scope": SCOPE},
        timeout=30,
    )


def status_with(sim: SimulatorHandle, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(sim.entity_url("order_hdr"), headers=headers, timeout=30).status_code


def control(sim: SimulatorHandle, **body: Any) -> requests.Response:
    return requests.post(f"{sim.base_url}/_sim/tokens", json=body, timeout=30)


def test_withdraw_all_or_one_client(tsim: SimulatorHandle, error_body: Any) -> None:
    first, other = token(tsim).json(), token(tsim, "other_client", "other_secret").json()
    assert status_with(tsim, first["access_token"]) == 200
    answer = control(tsim, withdraw=tsim.client_id)
    assert answer.status_code == 200 and answer.json()["withdrawn"] == 1
    error_body(
        requests.get(
            tsim.entity_url("order_hdr"),
            headers={"Authorization": f"Bearer {first['access_token']}"},
            timeout=30,
        ),
        401,
    )
    assert status_with(tsim, other["access_token"]) == 200  # another client's token lives on
    second = token(tsim).json()  # the client itself is not refused
    assert status_with(tsim, second["access_token"]) == 200
    assert control(tsim, withdraw="all").json()["withdrawn"] == 2
    assert status_with(tsim, second["access_token"]) == 401
    assert status_with(tsim, other["access_token"]) == 401
    stats = requests.get(f"{tsim.base_url}/_sim/stats", timeout=30).json()
    assert stats["tokens"]["requests"] == {"issued": 3, "refused": 0}
    assert stats["tokens"]["live"] == 0
    requests.delete(f"{tsim.base_url}/_sim/stats", timeout=30)
    tokens = requests.get(f"{tsim.base_url}/_sim/tokens", timeout=30).json()
    assert tokens["requests"] == {"issued": 0, "refused": 0}


def test_revoke_after_ends_tokens_early_but_announces_the_full_lifetime(
    tsim: SimulatorHandle,
) -> None:
    clock = HandClock()
    tsim.app.auth.clock = clock
    assert control(tsim, revoke_after=2.5).json()["revoke_after"] == 2.5
    issued = token(tsim).json()
    assert issued["expires_in"] == 60  # what the client is told
    clock.now += 2.4
    assert status_with(tsim, issued["access_token"]) == 200
    clock.now += 0.2  # 2.6 s into its life
    assert status_with(tsim, issued["access_token"]) == 401
    renewed = token(tsim).json()
    assert status_with(tsim, renewed["access_token"]) == 200
    assert control(tsim, revoke_after=None).json()["revoke_after"] is None
    lasting = token(tsim).json()
    clock.now += 59
    assert status_with(tsim, lasting["access_token"]) == 200
    clock.now += 2
    assert status_with(tsim, lasting["access_token"]) == 401  # the ttl still applies


def test_withdraw_after_requests_ends_each_token_after_its_nth_request(
    tsim: SimulatorHandle,
) -> None:
    assert control(tsim, withdraw_after_requests=3).json()["withdraw_after_requests"] == 3
    first = token(tsim).json()["access_token"]
    assert [status_with(tsim, first) for _ in range(4)] == [200, 200, 200, 401]
    second = token(tsim).json()["access_token"]  # a new token starts its own count
    assert [status_with(tsim, second) for _ in range(4)] == [200, 200, 200, 401]
    assert requests.get(f"{tsim.base_url}/_sim/tokens", timeout=30).json()["withdrawals"] == 2
    control(tsim, withdraw_after_requests=None)
    third = token(tsim).json()["access_token"]
    assert {status_with(tsim, third) for _ in range(5)} == {200}


def test_revoked_client_is_refused_for_good(tsim: SimulatorHandle) -> None:
    live = token(tsim).json()["access_token"]
    other = token(tsim, "other_client", "other_secret").json()["access_token"]
    answer = control(tsim, revoke_client=tsim.client_id)
    assert answer.status_code == 200
    assert answer.json()["withdrawn"] == 1
    assert answer.json()["revoked_clients"] == [tsim.client_id]
    assert status_with(tsim, live) == 401
    refused = token(tsim)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert token(tsim).status_code == 401  # still, with the right secret
    assert status_with(tsim, other) == 200
    counts = requests.get(f"{tsim.base_url}/_sim/tokens", timeout=30).json()["requests"]
    assert counts == {"issued": 2, "refused": 2}


@pytest.mark.parametrize(
    "body",
    [
        {"withdraw": ""},
        {"withdraw": 3},
        {"revoke_after": 0},
        {"revoke_after": "soon"},
        {"revoke_after": True},
        {"withdraw_after_requests": 0},
        {"withdraw_after_requests": 2.5},
        {"revoke_client": None},
        {"expire": "all"},
    ],
)
def test_bad_token_controls_are_refused_with_the_reason(
    tsim: SimulatorHandle, error_body: Any, body: dict[str, Any]
) -> None:
    answer = error_body(control(tsim, **body), 400)
    assert next(iter(body)) in answer["message"]
