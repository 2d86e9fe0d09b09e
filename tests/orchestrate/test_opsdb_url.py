"""`ops_db_url`: the ops records in a database named by URL, and what a bad one says."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from orchestrate.cli import main
from orchestrate.opsdb import OpsDB, open_ops_db
from orchestrate.pauses import blocking_reason, pause


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once it is closed


def test_an_unreachable_ops_db_says_which_setting_and_never_the_password(
        project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://ops:s3cret-pw@127.0.0.1:{_closed_port()}/wms_ops"
    for key, value in {**project.env, "WMS_OPS_OPS_DB_URL": url}.items():
        monkeypatch.setenv(key, value)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "ops_db_url" in err and "127.0.0.1" in err
    assert "refused" in err.lower()  # psycopg 3 tried it (a bare postgresql:// URL is enough)
    assert "s3cret-pw" not in err
    assert not project.config().ops_db_path.exists()  # no silent fallback to the local file


def test_a_sqlite_url_is_opened_like_the_local_file(project, now, tmp_path) -> None:
    shared = tmp_path / "shared" / "ops.db"
    cfg = project.config(ops_db_url=f"sqlite:///{shared}")
    ops = open_ops_db(cfg)
    try:
        pause(ops, "full_sync", "*", now + timedelta(hours=1), "month end")
    finally:
        ops.close()
    other = OpsDB(shared)  # what another process with ops_db_path = that file sees
    try:
        assert blocking_reason(cfg, other, "full_sync", now) is not None
        assert other.query("PRAGMA journal_mode")[0][0] == "wal"
    finally:
        other.close()
    assert not cfg.ops_db_path.exists()
