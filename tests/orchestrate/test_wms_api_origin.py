"""Issue 17, defect 1 for wms-ops: its WMS client keeps credentials on wms_base_url's origin.

A `next_page` naming another origin (the simulator's hostile mode, with a listener that
records any Authorization header) is never requested; the id listing goes on from the last
id read, so reconciliation still sees every id.
"""

from __future__ import annotations

import logging

import pytest

from orchestrate.wms_api import WmsClient
from wms_oauth.origins import ForeignOriginError


@pytest.fixture
def sim():
    from wms_simulator.testing import running_simulator

    with running_simulator(scale=3000, seed=5) as handle:
        handle.set_hostile(foreign_next_page=True)
        yield handle


def _login(sim, method: str) -> dict[str, str]:
    if method == "oauth2":
        return {"wms_base_url": sim.base_url, "wms_auth_method": "oauth2",
                "wms_oauth_token_url": sim.token_url, "wms_oauth_client_id": sim.client_id,
                "wms_oauth_client_secret": sim.client_secret}
    return {"wms_base_url": sim.base_url, "wms_username": sim.username,
            "wms_password": sim.password}


@pytest.mark.parametrize("method", ["basic", "oauth2"])
def test_ids_never_follow_a_foreign_next_page(project, sim, caplog, method) -> None:
    client = WmsClient(project.config(**_login(sim, method)))
    entity = "allocation"  # 1,800 rows: more than one page of 1,250
    with caplog.at_level(logging.WARNING):
        got = client.ids(entity)
    assert got == {str(i) for i in sim.store.ids(entity)}
    catcher = sim.app.hostile.catcher
    assert catcher.requests == 0 and catcher.received == []
    warnings = [r for r in caplog.records if "another origin" in r.getMessage()]
    assert len(warnings) == 1 and catcher.origin in warnings[0].getMessage()


def test_the_session_refuses_any_other_origin(project, sim) -> None:
    client = WmsClient(project.config(**_login(sim, "basic")))
    with pytest.raises(ForeignOriginError):
        client.session.get(f"{sim.app.hostile.catcher.origin}/x", timeout=10)
    assert sim.app.hostile.catcher.requests == 0
