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
def oracle_nulls(monkeypatch, wh):
    """Oracle mode as is; on SQLite, Oracle's rule that '' is NULL as far as the target's
    decisions go."""
    if wh.backend == "sqlite":
        monkeypatch.setattr(SQLiteDialect, "empty_string_is_null", True, raising=False)


def test_oracle_reads_empty_string_as_null():
    assert getattr(OracleDialect(), "empty_string_is_null", False) is True
    assert getattr(SQLiteDialect(), "empty_string_is_null", False) is False


@pytest.mark.backends("sqlite", "oracle-mode")
def test_empty_string_key_is_quarantined_where_empty_is_null(wh, oracle_nulls):
    """Upsert: on Oracle the MERGE never matches '' and its INSERT hits ORA-01400."""
    wh.run([schema_msg(schema=STRING_KEY), _rec("A"), _rec("")], load_method="upsert",
           max_rejects=1)
    assert [r[0] for r in wh.query("SELECT id FROM wms_order_hdr")] == ["A"]
    assert wh.query("SELECT record_key, reason FROM wms_order_hdr_rejects") == [
        ('[""]', "key property 'id' is missing or null (Oracle stores '' as NULL)")]


@pytest.mark.backends("sqlite", "oracle-mode")
def test_empty_string_key_cannot_block_a_snapshot_publish(wh, oracle_nulls):
    wh.run([schema_msg(schema=STRING_KEY), marker(V1), _rec("A", V1), _rec("", V1),
            marker(V1)], max_rejects=1)
    assert [r[0] for r in wh.query("SELECT id FROM wms_order_hdr")] == ["A"]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(0,)]


def test_empty_string_key_loads_where_it_is_a_value(wh):
    wh.run([schema_msg(schema=STRING_KEY), _rec("A"), _rec("")], load_method="upsert")
    assert sorted(r[0] for r in wh.query("SELECT id FROM wms_order_hdr")) == ["", "A"]


# defect 3: key width ------------------------------------------------------------------------

def _key_types(props: dict, keys: list[str]) -> dict:
    from target_oracle import types as T

    return T.cap_key_types({p: T.column_type(s) for p, s in props.items()}, keys)


def test_a_string_key_without_max_length_fits_the_index_limit():
    """VARCHAR2(4000 CHAR) can take 16,000 bytes on MAX_STRING_SIZE=EXTENDED (Autonomous
    Database): over the ~6,400-byte index key limit (ORA-01450) of the primary key."""
    from target_oracle import types as T

    d = OracleDialect()
    types = _key_types({"id": {"type": "string"}, "note": {"type": "string"}}, ["id"])
    assert d.sql_type(types["id"]) == f"VARCHAR2({T.KEY_MAX_CHARS} CHAR)"
    assert d.sql_type(types["note"]) == "VARCHAR2(4000 CHAR)"  # not a key: untouched
    assert T.KEY_MAX_CHARS * 4 < 6000


def test_all_key_columns_together_stay_under_the_index_limit():
    from target_oracle import types as T

    props = {"a": {"type": "string", "maxLength": 3000}, "b": {"type": ["string", "integer"]},
             "c": {"type": "string", "maxLength": 8000}, "n": {"type": "integer"},
             "t": {"type": "string", "format": "date-time"}, "s": {"type": "string",
                                                             "maxLength": 10}}
    types = _key_types(props, list(props))
    strings = [types[k] for k in ("a", "b", "c", "s")]
    assert all(t.kind == T.STRING for t in strings)  # a key is never a CLOB
    assert types["s"].length == 10                    # short declared widths are kept
    assert sum(t.length * 4 for t in strings) + 22 + 13 < 6000  # bytes, AL32UTF8
    assert types["n"] == T.ColumnType(T.INTEGER) and types["t"] == T.ColumnType(T.TIMESTAMP)


def test_a_key_longer_than_its_column_is_quarantined():
    from target_oracle import types as T
    from target_oracle.dialects import Column, RejectValue

    ctype = _key_types({"id": {"type": "string"}}, ["id"])["id"]
    conv = OracleDialect().converter(Column("ID", "id", ctype))
    assert conv("k" * T.KEY_MAX_CHARS) == "k" * T.KEY_MAX_CHARS
    with pytest.raises(RejectValue, match="too long for ID"):
        conv("k" * (T.KEY_MAX_CHARS + 1))


@pytest.mark.backends("sqlite", "oracle-mode")
def test_a_snapshot_table_left_without_its_index_gets_it_on_the_next_run(wh):
    """Each DDL commits: an interruption between CREATE TABLE and CREATE INDEX left the
    snapshot table without its index for good (the next run saw the table and moved on)."""
    full = [schema_msg(schema=STRING_KEY), marker(V1), _rec("A", V1), marker(V1)]
    wh.run(full)
    index = ("SELECT lower(name) FROM sqlite_master WHERE type = 'index' "
             "AND lower(tbl_name) = 'wms_order_hdr_snap'")
    assert wh.query(index) == [("wms_order_hdr_snap_ix",)]
    wh.query("DROP INDEX wms_order_hdr_snap_ix")
    wh.run(full)
    assert wh.query(index) == [("wms_order_hdr_snap_ix",)]
