"""Incremental loads: newer wins, in-batch duplicates, statement budget, audit counts."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from target_oracle.target import TargetOracle

from .conftest import V1, marker, rec, schema_msg, state, ts


def test_stale_record_never_overwrites_newer(wh):
    wh.run([schema_msg(), rec(1, ts(5), code="new"), rec(2, ts(1), code="b")],
           load_method="upsert")
    wh.run([schema_msg(), rec(1, ts(3), code="stale"), rec(2, ts(2), code="b2"),
            rec(3, ts(1), code="c")], load_method="upsert")
    live = wh.live()
    assert live[1][:2] == (ts(5), "new")
    assert live[2][:2] == (ts(2), "b2")
    assert live[3][:2] == (ts(1), "c")
    batch = wh.audit()[-1]
    assert batch[:2] == ("batch", "upsert")
    assert batch[3:6] == (1, 1, 1)  # inserted, updated, unchanged


def test_equal_mod_ts_later_record_wins(wh):
    wh.run([schema_msg(), rec(1, ts(5), code="first")], load_method="upsert")
    wh.run([schema_msg(), rec(1, ts(5), code="second")], load_method="upsert")
    assert wh.live()[1][1] == "second"


def test_in_batch_duplicate_keys(wh):
    wh.run([schema_msg(), rec(1, ts(2), code="a2"), rec(1, ts(9), code="a9"),
            rec(1, ts(4), code="a4"), rec(2, ts(1), code="b1"), rec(2, ts(1), code="b1bis")],
           load_method="upsert")
    live = wh.live()
    assert len(live) == 2
    assert live[1][1] == "a9"
    assert live[2][1] == "b1bis"


@pytest.mark.sqlite_only  # SQLite storage: exact digits as TEXT (Oracle NUMBER is numeric)
def test_decimals_exact_and_datetimes_text(wh):
    line = ('{"type": "RECORD", "stream": "order_hdr", "record": '
            f'{{"id": 1, "mod_ts": "{ts(1)}", "qty": 12.500}}}}')
    wh.run([schema_msg(), line], load_method="upsert")
    assert wh.query("SELECT qty, mod_ts FROM wms_order_hdr") == [("12.500", ts(1))]


def test_at_most_three_statements_per_batch(wh):
    target = TargetOracle(config=wh.config(load_method="upsert", batch_size_rows=500))
    import io
    import json

    msgs = [schema_msg()] + [rec(i, ts(1 + i % 20)) for i in range(2000)]
    executed: list[str] = []
    # Set up tables first, then count statements of the batches only.
    target._process_schema_message(msgs[0])
    engine = target.target_connector.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        executed.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    with __import__("contextlib").redirect_stdout(io.StringIO()):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in msgs[1:])))
    sa.event.remove(engine, "before_cursor_execute", count)
    batches = len(wh.query("SELECT 1 FROM wms_load_audit"))
    assert batches == 4
    assert len(executed) <= 3 * batches
    assert len(wh.live()) == 2000


def test_incremental_during_full_sync_loses_nothing(wh):
    # Full sync starts, stages rows (old mod_ts) …
    wh.run([schema_msg(), rec(1, ts(1), code="old1"), rec(2, ts(1), code="old2")],
           load_method="upsert")
    wh.run([schema_msg(), marker(V1), rec(1, ts(1), version=V1, code="snap1"),
            state(1)], load_method="append-only")
    # … an incremental run lands meanwhile: updates 2, inserts 3 (newer than snapshot start)
    wh.run([schema_msg(), rec(2, "2024-02-01T00:00:00.000000+00:00", code="inc2"),
            rec(3, "2024-02-01T00:00:00.000000+00:00", code="inc3")], load_method="upsert")
    # … full sync resumes: row 2 (stale copy) and end marker.
    wh.run([schema_msg(), marker(V1), rec(2, ts(1), version=V1, code="snap2"), marker(V1)],
           load_method="append-only")
    live = wh.live()
    assert live[2][1] == "inc2"  # stale snapshot copy did not win
    assert live[3][1] == "inc3" and live[3][3] is None  # newer than snapshot: kept
    assert live[1][1] == "snap1"
