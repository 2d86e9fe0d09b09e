"""The real ``target-oracle`` executable, fed a Singer file on stdin."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import V1, V2, marker, rec, schema_msg, ts

EXE = shutil.which("target-oracle") or str(Path(sys.executable).parent / "target-oracle")


def _run(config: dict, messages: list[dict], tmp_path: Path) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    text = "".join(json.dumps(m) + "\n" for m in messages)
    return subprocess.run([EXE, "--config", str(cfg)], input=text, capture_output=True,
                          text=True, timeout=120, check=False)


def test_end_to_end_full_sync_then_resync(tmp_path):
    db = tmp_path / "wh.db"
    config = {"sqlalchemy_url": f"sqlite:///{db}", "table_prefix": "WMS_",
              "load_method": "append-only", "pipeline_name": "full_sync"}
    first = [schema_msg(), marker(V1), *[rec(i, ts(1), version=V1) for i in (1, 2, 3)],
             {"type": "STATE", "value": {"bookmarks": {"order_hdr": {"done": True}}}},
             marker(V1)]
    proc = _run(config, first, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "bookmarks": {"order_hdr": {"done": True}}}
    second = [schema_msg(), marker(V2), *[rec(i, ts(2), version=V2) for i in (1, 3)], marker(V2)]
    assert _run(config, second, tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, _sdc_deleted_at IS NOT NULL FROM wms_order_hdr "
                            "ORDER BY id").fetchall()
        audit = conn.execute("SELECT pipeline, event FROM wms_load_audit").fetchall()
    assert rows == [(1, 0), (2, 1), (3, 0)]
    assert ("full_sync", "publish") in audit


def test_rejects_fail_the_process(tmp_path):
    db = tmp_path / "wh.db"
    proc = _run({"sqlalchemy_url": f"sqlite:///{db}", "load_method": "upsert"},
                [schema_msg(), rec(1, ts(1)), rec(2, ts(1), qty="bad")], tmp_path)
    assert proc.returncode != 0
    assert "order_hdr_rejects: 1" in proc.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id FROM order_hdr").fetchall() == [(1,)]


def test_no_connection_is_a_clear_error(tmp_path):
    proc = _run({}, [schema_msg(), rec(1, ts(1))], tmp_path)
    assert proc.returncode != 0
    assert "No database connection configured" in proc.stderr
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.parametrize("secret", ["password", "wallet_password", "sqlalchemy_url"])
def test_secrets_are_marked(secret):
    from target_oracle.target import TargetOracle

    assert TargetOracle.config_jsonschema["properties"][secret].get("secret") is True


def test_sqlite_file_in_a_new_folder_is_created(tmp_path):
    """A fresh checkout has no output/ folder: the first run must create it, not fail."""
    db = tmp_path / "output" / "nested" / "warehouse.db"
    proc = _run({"sqlalchemy_url": f"sqlite:///{db}", "load_method": "upsert"},
                [schema_msg(), rec(1, ts(1))], tmp_path)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id FROM order_hdr").fetchall() == [(1,)]


def test_one_bad_value_quarantines_its_record_not_the_run(tmp_path):
    """Issue 17: through the real executable (stdin read as bytes), integers past NUMBER(38)
    and past 64 bits and a lone surrogate escape each reject one record; the rest loads,
    the run succeeds."""
    db = tmp_path / "wh.db"
    schema = {"type": "object", "properties": {
        "id": {"type": "integer"}, "n": {"type": ["integer", "null"]},
        "note": {"type": ["string", "null"]}}}
    head = '{"type": "RECORD", "stream": "s", "record": '
    lines = [json.dumps({"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
                         "schema": schema}),
             head + f'{{"id": 1, "n": {10**40 + 7}}}}}',
             head + '{"id": 2, "note": "a\\ud800b"}}',
             head + f'{{"id": 4, "n": {2**64}}}}}',
             head + '{"id": 3, "n": 5, "note": "\\u00e7a \\ud83d\\udce6"}}']
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"sqlite:///{db}", "load_method": "upsert",
                               "max_rejects": 3}))
    proc = subprocess.run([EXE, "--config", str(cfg)], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, n, note FROM s").fetchall() == [(3, 5, "ça 📦")]
        reasons = dict(conn.execute("SELECT record_key, reason FROM s_rejects").fetchall())
    assert "NUMBER(38)" in reasons["[1]"] and "surrogate" in reasons["[2]"]
    assert "64-bit" in reasons["[4]"]
