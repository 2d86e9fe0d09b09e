"""Issue 11, defect 4: direct-path loading of snapshots.

``Connection.direct_path_load`` exists from python-oracledb 3.4, and a direct-path load
commits on its own. So: the dependency is pinned, a driver without it falls back to array
inserts, and the batch's audit and rejects are written in their own transaction *after* the
load committed — a failure in between leaves staged rows without their audit row, and the
rerun stages them again; the publish takes one row per key, so nothing is loaded twice.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from target_oracle.sinks import OracleSink
from tests.oracle_mode import dbapi

from .conftest import V1, marker, rec, schema_msg, ts

pytestmark = pytest.mark.backends("oracle-mode")

ROOT = Path(__file__).resolve().parents[2]


def _full(ids, *extra):
    return [schema_msg(), marker(V1), *[rec(i, ts(1), version=V1, code=f"c{i}") for i in ids],
            *extra, marker(V1)]


def test_oracledb_is_pinned_to_a_version_with_direct_path(wh):
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    oracledb = next(Requirement(d) for d in deps if Requirement(d).name == "oracledb")
    assert "3.3.9" not in oracledb.specifier and "3.4.0" in oracledb.specifier


def test_direct_path_loads_the_snapshot(wh):
    wh.run(_full([1, 2, 3]), use_direct_path=True)
    assert sorted(wh.live()) == [1, 2, 3]
    assert [a[0] for a in wh.audit()] == ["batch", "publish"]


def test_a_driver_without_direct_path_falls_back_to_array_insert(wh, monkeypatch, caplog):
    monkeypatch.delattr(dbapi.Connection, "direct_path_load")
    with caplog.at_level(logging.WARNING):
        wh.run(_full([1, 2, 3]), use_direct_path=True)
    assert sorted(wh.live()) == [1, 2, 3]
    assert "direct_path_load" in caplog.text and "array insert" in caplog.text


def test_a_failure_after_the_direct_path_commit_loads_nothing_twice(wh, monkeypatch):
    """The load committed, the audit/rejects transaction did not: the run fails, its STATE is
    not emitted, the tap re-sends the snapshot, and the publish keeps one row per key."""
    real = OracleSink._write_rejects
    calls = []

    def lost_connection(self, conn, rejects):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection lost after the direct-path load committed")
        return real(self, conn, rejects)

    monkeypatch.setattr(OracleSink, "_write_rejects", lost_connection)
    bad = rec(9, "not a date", version=V1)
    with pytest.raises(RuntimeError, match="connection lost"):
        wh.run(_full([1, 2], bad), use_direct_path=True, max_rejects=5)
    assert wh.audit() == [] and wh.live() == {}
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_rejects") == [(0,)]
    wh.run(_full([1, 2], bad), use_direct_path=True, max_rejects=5)
    assert wh.query("SELECT id, COUNT(*) FROM wms_order_hdr GROUP BY id ORDER BY id") == [
        (1, 1), (2, 1)]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(0,)]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_rejects") == [(1,)]
    batch, publish = wh.audit()
    assert batch[0] == "batch" and batch[3] == 2 and batch[7] == 1  # what the load committed
    assert publish[0] == "publish" and publish[3] == 2
