"""Issue 11, defect 10: the target's internal names are reserved, so a property that
collides with one gets another column name (the collision rule of ``naming.py``)."""

from __future__ import annotations

import copy

import pytest

from target_oracle import naming
from target_oracle.naming import assign_column_names

from .conftest import SCHEMA, V1, marker, schema_msg, ts

CLASHING = copy.deepcopy(SCHEMA)
for _prop in ("rn__", "_sdc_snapshot_version", "_sdc_snapshot_seq"):
    CLASHING["properties"][_prop] = {"type": ["integer", "null"]}


def test_internal_names_are_reserved():
    assert {"RN__", "_SDC_SNAPSHOT_VERSION", "_SDC_SNAPSHOT_SEQ"} <= getattr(
        naming, "RESERVED_COLUMNS", set())
    names = assign_column_names(["rn__", "_sdc_snapshot_seq", "id"])
    assert names == {"id": "ID", "rn__": "RN___2", "_sdc_snapshot_seq": "_SDC_SNAPSHOT_SEQ_2"}
    lower = assign_column_names(["RN__", "_sdc_snapshot_version"], upper=False)
    assert lower == {"RN__": "rn___2", "_sdc_snapshot_version": "_sdc_snapshot_version_2"}


@pytest.mark.backends("sqlite", "oracle-mode")
def test_properties_named_like_internal_columns_load_and_publish(wh):
    """Oracle: ORA-00957 (duplicate column) creating the snapshot table, ORA-00918 (column
    ambiguously defined) deduplicating it; SQLite fails the same way."""
    def rec(id_, version):
        return {"type": "RECORD", "stream": "order_hdr", "version": version,
                "record": {"id": id_, "mod_ts": ts(1), "rn__": 7,
                           "_sdc_snapshot_version": 8, "_sdc_snapshot_seq": 9}}

    wh.run([schema_msg(schema=CLASHING), marker(V1), rec(1, V1), rec(2, V1), marker(V1)])
    rows = wh.query("SELECT id, rn___2, _sdc_snapshot_version_2, _sdc_snapshot_seq_2 "
                    "FROM wms_order_hdr ORDER BY id")
    assert rows == [(1, 7, 8, 9), (2, 7, 8, 9)]
