"""Issue 11, defect 5: the VARCHAR2 → CLOB move survives an interruption and stays small.

VARCHAR2 cannot be MODIFYed to CLOB (ORA-22858): the column is added as ``X__CLOB``, copied,
the old one set unused and the new one renamed. Every DDL commits on its own, so the move
must be resumable from any step, and the copy must not be one table-wide UPDATE (locks, undo).
"""

from __future__ import annotations

import pytest
import sqlglot

from target_oracle import types as T
from target_oracle.dialects import Batched, Column, OracleDialect

D = OracleDialect()
CODE = Column("CODE", "code", T.ColumnType(T.STRING, 20))
CLOB = T.ColumnType(T.CLOB)
COPY = ("UPDATE WMS_T SET CODE__CLOB = CODE WHERE CODE__CLOB IS NULL AND CODE IS NOT NULL "
        "AND ROWNUM <= 10000")


def test_fresh_move_copies_in_batches_and_sets_the_old_column_unused():
    steps = D.widen_column("WMS_T", CODE, CLOB)
    assert steps == [
        "ALTER TABLE WMS_T ADD (CODE__CLOB CLOB)",
        COPY,
        "ALTER TABLE WMS_T SET UNUSED (CODE)",
        "ALTER TABLE WMS_T RENAME COLUMN CODE__CLOB TO CODE",
    ]
    assert isinstance(steps[1], Batched)  # re-run, one transaction each, until 0 rows
    assert not any(isinstance(s, Batched) for s in (steps[0], steps[2], steps[3]))
    for sql in steps:
        sqlglot.parse_one(sql, read="oracle")


def test_interrupted_after_add_resumes_the_copy():
    """ADD committed, copy partial: every later run used to fail on ORA-01430."""
    existing = {"ID": T.ColumnType(T.INTEGER), "CODE": T.ColumnType(T.STRING, 20),
                "CODE__CLOB": CLOB}
    steps, now = D.resume_clob_moves("WMS_T", existing, [CODE])
    assert steps == [COPY, "ALTER TABLE WMS_T SET UNUSED (CODE)",
                     "ALTER TABLE WMS_T RENAME COLUMN CODE__CLOB TO CODE"]
    assert isinstance(steps[0], Batched)
    assert now == {"ID": T.ColumnType(T.INTEGER), "CODE": CLOB}


def test_interrupted_after_set_unused_only_renames():
    """The old column is gone: the copy is complete; adding CODE again would strand it."""
    existing = {"ID": T.ColumnType(T.INTEGER), "CODE__CLOB": CLOB}
    steps, now = D.resume_clob_moves("WMS_T", existing, [CODE])
    assert steps == ["ALTER TABLE WMS_T RENAME COLUMN CODE__CLOB TO CODE"]
    assert now == {"ID": T.ColumnType(T.INTEGER), "CODE": CLOB}


def test_resume_happens_even_when_the_current_schema_wants_no_clob():
    """A run with an older schema between the interruption and the resume would write CODE
    after part of it was copied; resuming first, always, keeps the copy complete."""
    existing = {"CODE": T.ColumnType(T.STRING, 20), "CODE__CLOB": CLOB}
    steps, _ = D.resume_clob_moves("WMS_T", existing, [])
    assert steps[0] == COPY


def test_a_property_really_named_like_the_temporary_column_is_left_alone():
    note = Column("CODE__CLOB", "code__clob", CLOB)
    existing = {"CODE": T.ColumnType(T.STRING, 20), "CODE__CLOB": CLOB}
    steps, now = D.resume_clob_moves("WMS_T", existing, [CODE, note])
    assert steps == [] and now == existing


@pytest.mark.backends("oracle-mode")
@pytest.mark.parametrize("stopped_after", ["add", "partial copy", "set unused"])
def test_an_interrupted_move_is_finished_by_the_next_run_in_oracle_mode(wh, stopped_after):
    """Every later run used to fail with ORA-01430 (or strand the copy after SET UNUSED)."""
    import sqlalchemy as sa

    from .conftest import SCHEMA, rec, schema_msg, ts

    wh.run([schema_msg(), *[rec(i, ts(1), code=f"v{i}") for i in range(1, 5)]],
           load_method="upsert")
    steps = ["ALTER TABLE WMS_ORDER_HDR ADD (CODE__CLOB CLOB)"]
    if stopped_after == "partial copy":
        steps.append("UPDATE WMS_ORDER_HDR SET CODE__CLOB = CODE WHERE ID <= 2")
    if stopped_after == "set unused":
        steps += ["UPDATE WMS_ORDER_HDR SET CODE__CLOB = CODE",
                  "ALTER TABLE WMS_ORDER_HDR SET UNUSED (CODE)"]
    engine = sa.create_engine(wh.url)
    for sql in steps:  # what the interrupted move had committed, one statement at a time
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    engine.dispose()
    wider = {**SCHEMA, "properties": {**SCHEMA["properties"],
                                      "code": {"type": ["string", "null"], "maxLength": 9000}}}
    for schema in (SCHEMA, wider):  # the old schema resumes it too; the new one is a no-op
        wh.run([schema_msg(schema=schema), rec(9, ts(2), code="v9")], load_method="upsert")
    assert wh.query("SELECT id, code FROM wms_order_hdr ORDER BY id") == [
        *[(i, f"v{i}") for i in range(1, 5)], (9, "v9")]
    types = {r[1].upper(): r[2] for r in wh.query("PRAGMA table_info(wms_order_hdr)")}
    assert types["CODE"] == "CLOB" and "CODE__CLOB" not in types
