"""Reconciliation against a local lgfapi-shaped HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from orchestrate.reconcile import latest_reconciliation, reconcile

WMS_IDS = {"order_hdr": [*list(range(1, 11)), 42], "item": list(range(1, 6))}


@pytest.fixture
def wms():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            seen.append({"path": url.path, **q, "auth": self.headers.get("Authorization")})
            entity = url.path.rstrip("/").split("/")[-1]
            ids = WMS_IDS.get(entity)
            if ids is None:
                self.send_response(404)
                self.end_headers()
                return
            size, page = int(q.get("page_size", 10)), int(q.get("page", 1))
            chunk = ids[(page - 1) * size: page * size]
            more = page * size < len(ids)
            nxt = f"http://{self.headers['Host']}{url.path}?page={page + 1}&page_size={size}"
            body = {"result_count": len(ids), "page_count": -(-len(ids) // size),
                    "page_nbr": page, "next_page": nxt if more else None,
                    "previous_page": None, "results": [{"id": i} for i in chunk]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dev", seen
    server.shutdown()
    server.server_close()


def test_reconcile_counts_and_ids(project, now, wms):
    base_url, seen = wms
    rid = project.add_run("full_sync", now - timedelta(hours=1), now)
    for entity in ("order_hdr", "item"):
        project.add_audit(rid, "full_sync", entity, inserted=10)
    project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=2, updated=3,
                      deleted=1)
    project.add_audit(rid, "full_sync", "item", event="publish", unchanged=5)
    project.add_table("order_hdr", [*list(range(1, 11)), 99], deleted_ids=[42])
    project.add_table("item", list(range(1, 6)))
    cfg = project.config(wms_base_url=base_url, wms_username="wms_dev",
                         wms_password="wms_dev_password", reconcile_max_ids=5)
    ops = project.ops(cfg)
    rows = {r["entity"]: r for r in reconcile(cfg, ops)}  # latest successful full sync
    assert rows["item"]["wms_rows"] == rows["item"]["table_rows"] == 5
    assert rows["item"]["missing_in_table"] == []
    hdr = rows["order_hdr"]
    assert (hdr["wms_rows"], hdr["table_rows"]) == (11, 11)
    assert (hdr["inserted"], hdr["changed"], hdr["deleted"]) == (2, 3, 1)
    assert hdr["missing_in_table"] == [] and hdr["error"] is None  # same count: no id diff
    counting = [s for s in seen if s.get("page_size") == "1"]
    assert counting and counting[0]["page_mode"] == "paged"
    assert counting[0]["auth"].startswith("Basic ")
    # a differing count triggers the id comparison
    project.add_table("extra_ids", [])
    WMS_IDS["order_hdr"].append(43)
    try:
        rows = {r["entity"]: r for r in reconcile(cfg, ops, run_id=rid)}
    finally:
        WMS_IDS["order_hdr"].remove(43)
    assert rows["order_hdr"]["missing_in_table"] == ["42", "43"]
    assert rows["order_hdr"]["extra_in_table"] == ["99"]
    stored = {r["entity"]: r for r in latest_reconciliation(ops, "dev")}
    assert stored["order_hdr"]["missing_in_table"] == ["42", "43"]


def test_reconcile_logs_in_with_oauth2_like_the_tap(project, now, caplog):
    """Tenants that give the tap OAuth2 client credentials have no Basic user for wms-ops:
    reconciliation logs in the same way, against the simulator's token endpoint."""
    from wms_simulator.testing import running_simulator

    with running_simulator(scale=400) as sim:
        ids = sim.store.ids("order_hdr")
        rid = project.add_run("full_sync", now - timedelta(hours=1), now)
        project.add_audit(rid, "full_sync", "order_hdr", event="publish", inserted=len(ids))
        project.add_table("order_hdr", ids[:-1])  # the newest row never landed
        login = {"wms_base_url": sim.base_url, "wms_auth_method": "oauth2",
                 "wms_oauth_token_url": sim.token_url, "wms_oauth_client_id": sim.client_id}
        cfg = project.config(**login, wms_oauth_client_secret=sim.client_secret)
        ops = project.ops(cfg)
        row = reconcile(cfg, ops, run_id=rid)[0]
        assert row["error"] is None
        assert (row["wms_rows"], row["table_rows"]) == (len(ids), len(ids) - 1)
        assert row["missing_in_table"] == [str(ids[-1])]
        assert len(sim.app.auth.tokens) == 1  # one token for the count and every id page

        wrong = "not-the-secret-123"
        with caplog.at_level("DEBUG"):
            row = reconcile(project.config(**login, wms_oauth_client_secret=wrong), ops,
                            run_id=rid)[0]
    assert row["wms_rows"] is None and row["table_rows"] == len(ids) - 1
    assert f"client '{sim.client_id}'" in row["error"] and "HTTP 401" in row["error"]
    assert "wms_oauth_client_secret" in row["error"]  # what to check
    stored = json.dumps(latest_reconciliation(ops, "dev"))
    assert wrong not in caplog.text + stored and sim.client_secret not in caplog.text + stored
