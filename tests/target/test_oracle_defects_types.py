"""Issue 11, defect 6: an existing Oracle column's type is read back and values are
converted for *it*, so a property whose schema drifted loads what fits and quarantines
the rest instead of failing the batch on the server (ORA-01843 / ORA-01722)."""

from __future__ import annotations

import pytest

from target_oracle import types as T
from target_oracle.dialects import Column, OracleDialect, RejectValue, describe_sql

D = OracleDialect()
S = T.ColumnType(T.STRING, 4000)


@pytest.mark.parametrize(("row", "expected"), [
    (("TIMESTAMP(6) WITH TIME ZONE", None, None, 6), T.ColumnType(T.TIMESTAMP)),
    (("TIMESTAMP(6)", None, None, 6), T.ColumnType(T.TIMESTAMP)),
    (("DATE", None, None, None), T.ColumnType(T.DATE)),
    (("NUMBER", None, 38, 0), T.ColumnType(T.INTEGER, 38)),
    (("NUMBER", None, 1, 0), T.ColumnType(T.INTEGER, 1)),
    (("NUMBER", None, None, None), T.ColumnType(T.NUMBER)),
    (("NUMBER", None, 12, 2), T.ColumnType(T.NUMBER)),
    (("VARCHAR2", 20, None, None), T.ColumnType(T.STRING, 20)),
    (("CLOB", None, None, None), T.ColumnType(T.CLOB)),
])
def test_oracle_column_types_are_read_back(row, expected):
    assert D.read_type(*row) == expected


def test_describe_reads_precision_and_scale():
    assert "DATA_PRECISION, DATA_SCALE" in describe_sql(D)


@pytest.mark.parametrize(("have", "wanted", "effective"), [
    # drifted to text: the existing column decides
    (T.ColumnType(T.TIMESTAMP), S, T.ColumnType(T.TIMESTAMP)),
    (T.ColumnType(T.INTEGER, 38), S, T.ColumnType(T.INTEGER, 38)),
    (T.ColumnType(T.NUMBER), S, T.ColumnType(T.NUMBER)),
    (T.ColumnType(T.DATE), T.ColumnType(T.TIMESTAMP), T.ColumnType(T.DATE)),
    (T.ColumnType(T.STRING, 30), T.ColumnType(T.INTEGER), T.ColumnType(T.STRING, 30)),
    (T.ColumnType(T.INTEGER, 1), T.ColumnType(T.INTEGER), T.ColumnType(T.INTEGER, 1)),
    # the same Oracle type: the schema's kind (how values are converted) is kept
    (T.ColumnType(T.INTEGER, 1), T.ColumnType(T.BOOLEAN), T.ColumnType(T.BOOLEAN)),
    (T.ColumnType(T.INTEGER, 38), T.ColumnType(T.INTEGER), T.ColumnType(T.INTEGER)),
    (T.ColumnType(T.CLOB), T.ColumnType(T.JSON), T.ColumnType(T.JSON)),
    (T.ColumnType(T.CLOB), S, T.ColumnType(T.CLOB)),
])
def test_the_existing_column_decides_how_values_are_converted(have, wanted, effective):
    assert D.effective_type(have, wanted) == effective


def _conv(ctype):
    return D.converter(Column("X", "x", ctype))


def test_drifted_values_that_fit_load_and_the_rest_is_quarantined():
    ts_col = _conv(T.ColumnType(T.TIMESTAMP))
    assert ts_col("2024-01-05T10:00:00Z") == "2024-01-05T10:00:00.000000+00:00"
    with pytest.raises(RejectValue, match="not a date-time"):
        ts_col("next tuesday")          # was ORA-01843 for the whole batch
    int_col = _conv(T.ColumnType(T.INTEGER, 38))
    assert int_col("42") == 42 and int_col(True) == 1
    with pytest.raises(RejectValue, match="X"):
        int_col("4A")                   # was ORA-01722 for the whole batch
    with pytest.raises(RejectValue, match="X"):
        int_col("2.5")
    flag = _conv(T.ColumnType(T.INTEGER, 1))  # a NUMBER(1) boolean column, now integers
    assert flag(1) == 1
    with pytest.raises(RejectValue, match=r"NUMBER\(1\)"):
        flag(12)
    assert _conv(T.ColumnType(T.BOOLEAN))(True) == 1


def test_integer_columns_render_their_precision():
    assert D.sql_type(T.ColumnType(T.INTEGER)) == "NUMBER(38)"
    assert D.sql_type(T.ColumnType(T.INTEGER, 1)) == "NUMBER(1)"
    assert D.sql_type(T.ColumnType(T.BOOLEAN)) == "NUMBER(1)"


@pytest.mark.backends("oracle-mode")
def test_a_drifted_property_loads_what_fits_its_column_and_quarantines_the_rest(wh):
    """create_ts was a date-time; the tap's schema now calls it a plain string."""
    from .conftest import SCHEMA, rec, schema_msg, ts

    wh.run([schema_msg(), rec(1, ts(1), create_ts=ts(1))], load_method="upsert")
    drifted = {**SCHEMA, "properties": {**SCHEMA["properties"],
                                        "create_ts": {"type": ["string", "null"]}}}
    wh.run([schema_msg(schema=drifted), rec(2, ts(2), create_ts="2024-01-02T03:04:05Z"),
            rec(3, ts(2), create_ts="next tuesday")], load_method="upsert", max_rejects=1)
    assert sorted(r[0] for r in wh.query("SELECT id FROM wms_order_hdr")) == [1, 2]
    (reason,) = wh.query("SELECT reason FROM wms_order_hdr_rejects")[0]
    assert "not a date-time" in reason
