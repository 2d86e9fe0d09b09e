"""Issue 11, defects 2 and 3: keys Oracle cannot hold or index are quarantined, and the
tables carrying them can always be created (and re-created after an interruption)."""

from __future__ import annotations

import copy

import pytest

from target_oracle.dialects import OracleDialect, SQLiteDialect

from .conftest import SCHEMA, V1, marker, schema_msg, ts

STRING_KEY = copy.deepcopy(SCHEMA)
STRING_KEY["properties"]["id"] = {"type": "string"}


def _rec(key, version=None):
    msg = {"type": "RECORD", "stream": "order_hdr", "record": {"id": key, "mod_ts": ts(1)}}
    if version is not None:
        msg["version"] = version
    return msg


@pytest.fixture
def oracle_nulls(monkeypatch):
    """SQLite with Oracle's rule that '' is NULL, as far as the target's decisions go."""
    monkeypatch.setattr(SQLiteDialect, "empty_string_is_null", True, raising=False)


def test_oracle_reads_empty_string_as_null():
    assert getattr(OracleDialect(), "empty_string_is_null", False) is True
    assert getattr(SQLiteDialect(), "empty_string_is_null", False) is False


def test_empty_string_key_is_quarantined_where_empty_is_null(wh, oracle_nulls):
    """Upsert: on Oracle the MERGE never matches '' and its INSERT hits ORA-01400."""
    wh.run([schema_msg(schema=STRING_KEY), _rec("A"), _rec("")], load_method="upsert",
           max_rejects=1)
    assert [r[0] for r in wh.query("SELECT id FROM wms_order_hdr")] == ["A"]
    assert wh.query("SELECT record_key, reason FROM wms_order_hdr_rejects") == [
        ('[""]', "key property 'id' is missing or null (Oracle stores '' as NULL)")]


def test_empty_string_key_cannot_block_a_snapshot_publish(wh, oracle_nulls):
    wh.run([schema_msg(schema=STRING_KEY), marker(V1), _rec("A", V1), _rec("", V1),
            marker(V1)], max_rejects=1)
    assert [r[0] for r in wh.query("SELECT id FROM wms_order_hdr")] == ["A"]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(0,)]


def test_empty_string_key_loads_where_it_is_a_value(wh):
    wh.run([schema_msg(schema=STRING_KEY), _rec("A"), _rec("")], load_method="upsert")
    assert sorted(r[0] for r in wh.query("SELECT id FROM wms_order_hdr")) == ["", "A"]
