"""Issue 11, defects 8 and 9: values Oracle would refuse are quarantined, not fatal.

Each check is the Oracle dialect's column converter, which the sink runs for every record
in process (a :class:`RejectValue` quarantines the record with its message); what passes
must be what python-oracledb and the server accept.
"""

from __future__ import annotations

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
