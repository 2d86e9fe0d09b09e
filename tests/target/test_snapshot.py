"""Append-only full syncs: staging, start/end markers, publish, soft deletes."""

from __future__ import annotations

from .conftest import V1, V2, marker, rec, schema_msg, state, ts

LATE = "2028-01-01T00:00:00.000000+00:00"  # after V2's snapshot start


def full(version, ids, mod=None, **extra):
    mod = mod or ts(1)
    return [
        schema_msg(),
        marker(version),
        *[rec(i, mod, version=version, code=f"c{i}", **extra) for i in ids],
        marker(version),
    ]


def test_publish_on_end_marker_and_second_full_sync_has_no_duplicates(wh):
    wh.run(full(V1, [1, 2, 3]))
    wh.run(full(V2, [1, 2, 3]))
    assert wh.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM wms_order_hdr") == [(3, 3)]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(0,)]
    publishes = [a for a in wh.audit() if a[0] == "publish"]
    assert publishes[0][2:7] == (V1, 3, 0, 0, 0)
    # the same data again: written, but counted as unchanged, not as changes
    assert publishes[1][2:7] == (V2, 0, 0, 3, 0)


def test_publish_counts_rows_with_a_newer_mod_ts_as_updated(wh):
    wh.run(full(V1, [1, 2, 3]))
    wh.run(full(V2, [1, 2], mod=ts(2)))
    publish = [a for a in wh.audit() if a[0] == "publish"][-1]
    assert publish[2:7] == (V2, 0, 2, 0, 1)  # version, inserted, updated, unchanged, deleted


def test_publish_soft_deletes_only_absent_and_older_rows(wh):
    wh.run(full(V1, [1, 2, 3]))
    # row 4 arrives by an incremental run after the next snapshot started
    wh.run([schema_msg(), rec(4, LATE, code="late")], load_method="upsert")
    wh.run(full(V2, [1, 3]))
    live = wh.live()
    assert live[2][3] is not None  # gone from the snapshot, older → soft-deleted
    assert live[1][3] is None and live[3][3] is None
    assert live[4][3] is None  # absent but newer than the snapshot start → kept
    assert [a for a in wh.audit() if a[0] == "publish"][-1][6] == 1
    # the row comes back → un-deleted
    wh.run(full(V2 + 1, [1, 2, 3]))
    assert wh.live()[2][3] is None


def test_hard_delete_removes_rows(wh):
    wh.run(full(V1, [1, 2, 3]))
    wh.run(full(V2, [1]), hard_delete=True)
    assert sorted(wh.live()) == [1]


def test_crash_before_publish_leaves_live_untouched_and_resume_keeps_staging(wh):
    wh.run(full(V1, [1, 2, 3]))
    before = wh.live()
    states = wh.run(
        [
            schema_msg(),
            marker(V2),
            rec(1, ts(9), version=V2, code="x"),
            rec(2, ts(9), version=V2, code="y"),
            state(2),
        ]
    )  # input ends: no marker
    assert wh.live() == before
    assert states  # STATE emitted: its rows are committed in staging
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(2,)]
    # resumed run, same version: keeps filling staging, publishes on the end marker
    wh.run(
        [
            schema_msg(),
            marker(V2),
            rec(2, ts(9), version=V2, code="y"),
            rec(3, ts(9), version=V2, code="z"),
            marker(V2),
        ]
    )
    live = wh.live()
    assert {k: v[1] for k, v in live.items()} == {1: "x", 2: "y", 3: "z"}
    assert all(v[3] is None for v in live.values())


def test_new_version_discards_stale_staging(wh):
    wh.run([schema_msg(), marker(V1), rec(1, ts(1), version=V1, code="dead")])
    wh.run(full(V2, [2]))
    assert sorted(wh.live()) == [2]
    assert wh.query("SELECT COUNT(*) FROM wms_order_hdr_snap") == [(0,)]


def test_two_markers_without_records_publish_an_empty_entity(wh):
    wh.run(full(V1, [1, 2]))
    wh.run([schema_msg(), marker(V2), marker(V2)])
    assert all(v[3] is not None for v in wh.live().values())


def test_snapshot_duplicates_keep_greatest_mod_ts(wh):
    wh.run(
        [
            schema_msg(),
            marker(V1),
            rec(1, ts(5), version=V1, code="new"),
            rec(1, ts(2), version=V1, code="old"),
            marker(V1),
        ],
        batch_size_rows=1,
    )
    assert wh.live()[1][1] == "new"


def test_overwrite_replaces_contents(wh):
    wh.run(full(V1, [1, 2, 3]))
    wh.run([schema_msg(), rec(7, ts(1), code="only")], load_method="overwrite")
    assert sorted(wh.live()) == [7]
