"""Issue 11, defects 8 and 9: values Oracle would refuse are quarantined, not fatal.

Each check is the Oracle dialect's column converter, which the sink runs for every record
in process (a :class:`RejectValue` quarantines the record with its message); what passes
must be what python-oracledb and the server accept.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from target_oracle import types as T
from target_oracle.dialects import Column, OracleDialect, RejectValue

D = OracleDialect()


def conv(kind: str, length: int | None = None):
    f = D.converter(Column("X", "x", T.ColumnType(kind, length)))
    assert f is not None
    return f


@pytest.mark.parametrize("value", [10**38, -(10**38), 10**40, int("1234567890" * 4 + "1")])
def test_integer_beyond_number_38_is_quarantined(value):
    """ORA-01438: value larger than specified precision allowed for this column."""
    with pytest.raises(RejectValue, match=r"X .*NUMBER\(38\)"):
        conv(T.INTEGER)(value)


@pytest.mark.parametrize("value", [0, 1, -1, 10**38 - 1, -(10**38) + 1])
def test_integer_within_number_38_is_kept(value):
    assert conv(T.INTEGER)(value) == value


@pytest.mark.parametrize("value", [
    Decimal("1" * 41),                      # 41 significant digits: DPY-4003
    Decimal("0." + "1" * 41),
    Decimal("1E126"), Decimal("-9.9E126"),  # exponent over 125
    Decimal("1E-131"),                      # too small to represent
    10**45 + 1,                             # 46 digits as a Python int
    Decimal("NaN"), Decimal("Infinity"), float("inf"), float("nan"), 1e200,
    "not a number", "1e999",
])
def test_number_oracle_cannot_represent_is_quarantined(value):
    with pytest.raises(RejectValue, match="X"):
        conv(T.NUMBER)(value)


@pytest.mark.parametrize("value", [
    Decimal("1" * 40), Decimal("1" * 30 + "E95"), Decimal("-12.500"), Decimal("1E-130"),
    Decimal("0"), Decimal("0E-200"), 10**125, 1.5, 1e125, 7, "12.5",
])
def test_number_oracle_can_represent_is_kept(value):
    out = conv(T.NUMBER)(value)
    assert Decimal(str(out)) == Decimal(str(value))


# defect 9: Oracle's limits are bytes -----------------------------------------------------------

def test_reject_key_and_reason_are_cut_at_4000_bytes_on_a_character_boundary():
    from target_oracle.quarantine import RejectBuffer

    buf = RejectBuffer("s", ["id"])
    buf.add({"id": "€" * 3000}, "é" * 3000)
    (_stream, key, _json, reason, *_rest) = buf.take()[0]
    for text in (key, reason):
        raw = text.encode()
        assert 3996 <= len(raw) <= 4000  # fits VARCHAR2(4000 CHAR) under MAX_STRING_SIZE=STANDARD
        assert raw.decode() == text  # no character cut in half
    assert reason == "é" * 2000


def test_pipeline_name_longer_than_its_column_is_a_config_error(tmp_path):
    from singer_sdk.exceptions import ConfigValidationError

    from target_oracle.target import TargetOracle

    url = f"sqlite:///{tmp_path / 'x.db'}"
    TargetOracle(config={"sqlalchemy_url": url, "pipeline_name": "p" * 64})
    with pytest.raises(ConfigValidationError, match=r"pipeline_name.*64 bytes"):
        TargetOracle(config={"sqlalchemy_url": url, "pipeline_name": "é" * 33})


def test_extended_max_string_size_takes_values_standard_rejects():
    text = "€" * 1500  # 1,500 characters, 4,500 bytes
    col = Column("X", "x", T.ColumnType(T.STRING, 4000))
    with pytest.raises(RejectValue, match="too long for X"):
        OracleDialect().converter(col)(text)
    extended = OracleDialect()
    extended.max_string_bytes = 32767
    assert extended.converter(col)(text) == text
    with pytest.raises(RejectValue, match="too long for X"):
        extended.converter(col)("x" * 4001)  # still VARCHAR2(4000 CHAR)


def test_max_string_size_is_read_once_and_falls_back_to_standard(tmp_path, caplog):
    """Without the grant on v$parameter (here: a database without it) the run assumes
    STANDARD and says so; where the parameter reads EXTENDED, the real limit is used."""
    import logging

    import sqlalchemy as sa

    from target_oracle.connector import read_max_string_bytes

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    log = logging.getLogger("test-max-string-size")
    with engine.connect() as conn, caplog.at_level(logging.WARNING, log.name):
        assert read_max_string_bytes(conn, log) == 4000
        assert "MAX_STRING_SIZE" in caplog.text and "STANDARD" in caplog.text
        conn.exec_driver_sql('CREATE TABLE "v$parameter" (name TEXT, value TEXT)')
        conn.exec_driver_sql("""INSERT INTO "v$parameter" VALUES ('max_string_size', 'EXTENDED')""")
        conn.commit()
        assert read_max_string_bytes(conn, log) == 32767


@pytest.mark.backends("oracle-mode")
def test_numbers_oracle_refuses_are_quarantined_and_the_batch_loads(wh):
    from .conftest import schema_msg, ts

    head = '{"type": "RECORD", "stream": "order_hdr", "record": '
    lines = [
        json.dumps(schema_msg()),
        head + f'{{"id": 1, "mod_ts": "{ts(1)}", "qty": 12.5}}}}',
        head + f'{{"id": {10**38}, "mod_ts": "{ts(1)}", "qty": 1}}}}',     # ORA-01438
        head + f'{{"id": 3, "mod_ts": "{ts(1)}", "qty": {"1" * 41}.5}}}}',  # DPY-4003
        head + f'{{"id": 4, "mod_ts": "{ts(1)}", "qty": 1e130}}}}',        # exponent
    ]
    wh.run(lines, load_method="upsert", max_rejects=3)
    assert sorted(wh.live()) == [1]
    reasons = [r[0] for r in wh.query("SELECT reason FROM wms_order_hdr_rejects")]
    assert len(reasons) == 3 and all("QTY" in r or "ID" in r for r in reasons), reasons


@pytest.mark.backends("oracle-mode")
@pytest.mark.parametrize(("max_string_bytes", "loaded"), [(4000, [1]), (32767, [1, 2])])
def test_4000_plus_byte_values_load_where_max_string_size_is_extended(wh, max_string_bytes,
                                                                      loaded):
    from tests import oracle_mode

    from .conftest import SCHEMA, rec, schema_msg, ts

    oracle_mode.server(str(wh.path), max_string_bytes=max_string_bytes)
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "note": {"type": "string"}}}
    wh.run([schema_msg(schema=schema), rec(1, ts(1), note="short"),
            rec(2, ts(1), note="€" * 1500)],  # 1,500 characters, 4,500 bytes
           load_method="upsert", max_rejects=1)
    assert sorted(wh.live()) == loaded
