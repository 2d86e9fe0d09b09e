"""Shared fixtures: one read-only simulator per module; tests that change data start their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wms_simulator.testing import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(scale=2000, seed=7) as handle:
        yield handle


@pytest.fixture(scope="module")
def http(sim: SimulatorHandle) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.auth = (sim.username, sim.password)
        yield s


def _walk(
    http: requests.Session, url: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Follow next_page links from the first page to the end; return every record."""
    out: list[dict[str, Any]] = []
    resp = http.get(url, params=params, timeout=30)
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["results"])
        if not body["next_page"]:
            return out
        resp = http.get(body["next_page"], timeout=30)


def _assert_error_body(resp: requests.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"reference", "code", "message", "details"}
    return body


@pytest.fixture
def walk() -> Any:
    """``walk(http, url, params)``: every record of a query, following next_page."""
    return _walk


@pytest.fixture
def error_body() -> Any:
    """``error_body(resp, status)``: assert the lgfapi error shape, return the body."""
    return _assert_error_body
