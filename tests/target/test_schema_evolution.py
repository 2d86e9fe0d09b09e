"""Schema changes: columns added, strings widened/moved to CLOB, never dropped."""

from __future__ import annotations

import copy

from target_oracle import types as T
from target_oracle.dialects import Column, OracleDialect
from target_oracle.naming import assign_column_names, conform_identifier

from .conftest import SCHEMA, rec, schema_msg, ts


def test_new_column_mid_stream_is_added(wh):
    wider = copy.deepcopy(SCHEMA)
    wider["properties"]["note"] = {"type": ["string", "null"]}
    wh.run([schema_msg(), rec(1, ts(1), code="a"), schema_msg(schema=wider),
            rec(2, ts(1), code="b", note="hello")], load_method="upsert")
    cols = [r[1].lower() for r in wh.query("PRAGMA table_info(wms_order_hdr)")]
    assert cols == ["id", "code", "qty", "mod_ts", "create_ts", "_sdc_deleted_at", "note"]
    assert wh.query("SELECT id, note FROM wms_order_hdr ORDER BY id") == [(1, None), (2, "hello")]


def test_removed_property_keeps_column(wh):
    wh.run([schema_msg(), rec(1, ts(1), code="a")], load_method="upsert")
    narrower = copy.deepcopy(SCHEMA)
    del narrower["properties"]["code"]
    wh.run([schema_msg(schema=narrower), rec(2, ts(1))], load_method="upsert")
    assert wh.query("SELECT id, code FROM wms_order_hdr ORDER BY id") == [(1, "a"), (2, None)]


def test_type_mapping():
    ct = T.column_type
    d = OracleDialect()
    assert d.sql_type(ct({"type": "integer"})) == "NUMBER(38)"
    assert d.sql_type(ct({"type": ["number", "null"]})) == "NUMBER"
    assert d.sql_type(ct({"type": "string", "maxLength": 20})) == "VARCHAR2(20 CHAR)"
    assert d.sql_type(ct({"type": "string"})) == "VARCHAR2(4000 CHAR)"
    assert d.sql_type(ct({"type": "string", "maxLength": 5000})) == "CLOB"
    assert d.sql_type(ct({"type": "string", "format": "date-time"})) == (
        "TIMESTAMP(6) WITH TIME ZONE")
    assert d.sql_type(ct({"type": "string", "format": "date"})) == "DATE"
    assert d.sql_type(ct({"type": "boolean"})) == "NUMBER(1)"
    assert d.sql_type(ct({"type": "object"})) == "CLOB"
    assert d.sql_type(ct({"type": ["array", "null"]})) == "CLOB"


def test_widening_rules():
    s20, s50 = T.ColumnType(T.STRING, 20), T.ColumnType(T.STRING, 50)
    assert T.widening(s20, s50) == s50
    assert T.widening(s50, s20) is None  # never narrowed
    assert T.widening(s20, T.ColumnType(T.CLOB)) == T.ColumnType(T.CLOB)
    assert T.widening(T.ColumnType(T.INTEGER), s20) is None


def test_oracle_widen_statements():
    d = OracleDialect()
    col = Column("CODE", "code", T.ColumnType(T.STRING, 20))
    assert d.widen_column("WMS_T", col, T.ColumnType(T.STRING, 200)) == [
        "ALTER TABLE WMS_T MODIFY (CODE VARCHAR2(200 CHAR))"]
    assert d.widen_column("WMS_T", col, T.ColumnType(T.CLOB)) == [
        "ALTER TABLE WMS_T ADD (CODE__CLOB CLOB)",
        "UPDATE WMS_T SET CODE__CLOB = CODE WHERE CODE__CLOB IS NULL AND CODE IS NOT NULL "
        "AND ROWNUM <= 10000",  # batched: see test_oracle_defects_clob.py
        "ALTER TABLE WMS_T SET UNUSED (CODE)",
        "ALTER TABLE WMS_T RENAME COLUMN CODE__CLOB TO CODE",
    ]


def test_naming_rules():
    assert conform_identifier("order_hdr") == "ORDER_HDR"
    assert conform_identifier("date") == "DATE_"
    assert conform_identifier("1st-line") == "C_1ST_LINE"
    assert conform_identifier("_sdc_deleted_at") == "_SDC_DELETED_AT"
    long = conform_identifier("x" * 40, max_bytes=30)
    assert len(long) == 30 and long == conform_identifier("x" * 40, max_bytes=30)
    names = assign_column_names(["order_id", "Order-Id", "level"])
    assert names == {"Order-Id": "ORDER_ID", "level": "LEVEL_", "order_id": "ORDER_ID_2"}
    assert assign_column_names(["order_id", "Order-Id"]) == assign_column_names(
        ["Order-Id", "order_id"])


def _with_code_length(length: int) -> dict:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["code"] = {"type": ["string", "null"], "maxLength": length}
    return schema


def test_strings_widen_then_move_to_clob_keeping_every_value(wh):
    for i, length in enumerate((20, 200, 5000), start=1):
        wh.run([schema_msg(schema=_with_code_length(length)),
                rec(i, ts(i), code=str(i) * length)], load_method="upsert")
    assert wh.query("SELECT id, code FROM wms_order_hdr ORDER BY id") == [
        (i, str(i) * n) for i, n in ((1, 20), (2, 200), (3, 5000))]
    if wh.backend == "oracle-mode":
        types = dict((r[1], r[2]) for r in wh.query("PRAGMA table_info(wms_order_hdr)"))
        assert types["CODE"] == "CLOB"
