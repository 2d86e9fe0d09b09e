"""Issue 7, scenarios 8 and 9: bad records go to the rejects table with a reason, hostile
names and text survive, bad endpoints and credentials fail fast and write nothing.

Crafted Singer streams are fed to the real `target-oracle` executable: the tap's own output,
recorded from the simulator, with a few records altered.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from e2e_helpers import (
    ENTITIES,
    PREFIX,
    TAP_BIN,
    TARGET_BIN,
    Pipes,
    assert_matches_wms,
    compare_with_wms,
    wms_state,
)

pytestmark = pytest.mark.e2e
_encoder = msgspec.json.Encoder(decimal_format="number")


def record_tap(pipes: Pipes, kind: str, path: Path) -> list[dict]:
    cfg = path.with_suffix(".tap.json")
    cfg.write_text(json.dumps(pipes.tap_config(kind)))
    out = subprocess.run([str(TAP_BIN), "--config", str(cfg)], capture_output=True, text=True,
                         check=True, timeout=120)
    # Decimals stay Decimal (exact digits), and are written back as JSON numbers.
    return [json.loads(line, parse_float=Decimal) for line in out.stdout.splitlines()
            if line.strip()]


def run_target(config: dict, messages: list[dict], workdir: Path,
               name: str = "target") -> subprocess.CompletedProcess[str]:
    cfg = workdir / f"{name}.json"
    cfg.write_text(json.dumps(config))
    stream = "".join(_encoder.encode(m).decode() + "\n" for m in messages)
    return subprocess.run([str(TARGET_BIN), "--config", str(cfg)], input=stream,
                          capture_output=True, text=True, timeout=120)


def tables(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def rejects(db: Path, stream: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            f'SELECT record_key, reason, record_json FROM "{PREFIX}{stream}_rejects"').fetchall()


BAD = {  # id -> (alteration, expected words in the reason)
    11: ("alloc_qty", "not-a-number", "schema"),
    12: ("alloc_qty", -5, "alloc_qty >= 0"),
    13: ("packed_qty", "-0.001", "schema"),  # a string where a number belongs
    14: ("mod_ts", "yesterday", "date-time"),
}


def _alter(messages: list[dict], *, drop_id: bool = False) -> tuple[list[dict], set[int]]:
    """Break allocations 11-14 (see BAD) and 15's id: null, or no `id` key with `drop_id`."""
    out, altered = [], set()
    missing_id_done = False
    for m in messages:
        if m.get("type") == "RECORD" and m["stream"] == "allocation":
            rec = dict(m["record"])
            if rec["id"] in BAD:
                field, value, _ = BAD[rec["id"]]
                rec[field] = value
                altered.add(rec["id"])
            elif rec["id"] == 15 and not missing_id_done:
                if drop_id:
                    rec.pop("id")
                else:
                    rec["id"] = None
                missing_id_done = True
                altered.add(15)
            m = {**m, "record": rec}
        out.append(m)
    return out, altered


@pytest.mark.parametrize("kind", ["incremental", "full"])
def test_bad_records_are_rejected_with_a_reason_and_the_rest_loads(pipes, simulator, tmp_path,
                                                                   kind) -> None:
    """Scenario 8: 5 broken allocations -> rejects table with reasons; all else loads; with
    max_rejects below 5 the run fails with a clear message (after loading the rest)."""
    messages, altered = _alter(record_tap(pipes, kind, tmp_path / "tap"))
    assert altered == {11, 12, 13, 14, 15}

    ok = run_target({**pipes.target_config(kind), "max_rejects": 10}, messages, tmp_path)
    assert ok.returncode == 0, ok.stderr[-3000:]
    rows = rejects(pipes.warehouse, "allocation")
    reasons = {json.loads(k)[0] if json.loads(k)[0] is not None else None: r
               for k, r, _ in rows}
    assert len(rows) == 5, rows
    for rid, (_, _, words) in BAD.items():
        assert words in reasons.get(rid, ""), (rid, reasons)
    assert None in reasons and ("key" in reasons[None] or "id" in reasons[None]), reasons
    for _, _, record_json in rows:
        assert json.loads(record_json)  # the whole record is kept, as JSON
    # Everything else is there, exactly; the rejected ids are not.
    truth = wms_state(simulator, "allocation")
    with sqlite3.connect(pipes.warehouse) as db:
        loaded = {r[0] for r in db.execute(f"SELECT id FROM {PREFIX}allocation")}
    assert loaded == set(truth) - altered
    problems = compare_with_wms(pipes.warehouse, simulator, ("order_hdr", "order_dtl"))
    assert not problems, problems

    # Too many rejects: a loud failure naming the count and the limit, the rest still loaded.
    fresh = tmp_path / "strict.db"
    strict = run_target({**pipes.target_config(kind), "sqlalchemy_url": f"sqlite:///{fresh}",
                         "max_rejects": 2}, messages, tmp_path, "strict")
    assert strict.returncode != 0
    assert "5 record(s) rejected, more than max_rejects=2" in strict.stderr, strict.stderr[-3000:]
    with sqlite3.connect(fresh) as db:
        assert db.execute(f"SELECT count(*) FROM {PREFIX}order_hdr").fetchone()[0] == len(
            list(simulator.truth("order_hdr")))
        assert db.execute(f"SELECT count(*) FROM {PREFIX}allocation_rejects").fetchone()[0] == 5


def test_a_rejected_record_in_a_full_snapshot_does_not_soft_delete_its_row(pipes, simulator,
                                                                             tmp_path) -> None:
    pipes.run("full")
    messages, altered = _alter(record_tap(pipes, "full", tmp_path / "tap"))
    ok = run_target({**pipes.target_config("full"), "max_rejects": 10}, messages, tmp_path)
    assert ok.returncode == 0, ok.stderr[-3000:]
    with sqlite3.connect(pipes.warehouse) as db:
        dead = {r[0] for r in db.execute(
            f"SELECT id FROM {PREFIX}allocation WHERE _sdc_deleted_at IS NOT NULL")}
    # 15 arrived with `id: null`: no target can tell which row that record was, so only the
    # records rejected with their id must keep their rows live.
    kept = altered - {15}
    assert not dead & kept, f"rejected ids soft-deleted: {sorted(dead & kept)}"


def test_a_record_without_its_id_key_is_rejected_not_fatal(pipes, simulator, tmp_path) -> None:
    messages, _ = _alter(record_tap(pipes, "incremental", tmp_path / "tap"), drop_id=True)
    ok = run_target({**pipes.target_config("incremental"), "max_rejects": 10}, messages, tmp_path)
    assert ok.returncode == 0, ok.stderr[-1500:]
    assert len(rejects(pipes.warehouse, "allocation")) == 5


HOSTILE_STREAM = 'Order "Lines"; DROP TABLE x --'
HOSTILE_FIELDS = {
    "id": {"type": ["integer"]},
    "select": {"type": ["string", "null"]},
    "from": {"type": ["string", "null"]},
    "Group By": {"type": ["string", "null"]},
    'quo"te\'s': {"type": ["string", "null"]},
    "1st value": {"type": ["number", "null"]},
    "mod_ts": {"type": ["string", "null"], "format": "date-time"},
    "long_text": {"type": ["string", "null"], "maxLength": 100000},
    "ação_名前": {"type": ["string", "null"]},
}
TEXTS = [
    "São Paulo — ação, coração, Conceição, pão",
    "東京都千代田区 倉庫 第3棟",
    "📦🚚✅ emoji 👩‍👩‍👧 zwj, ﬁ ligature, e\u0301 combining",
    "quote ' double \" backslash \\ tab \t newline \n null-ish NULL",
    "ÅÄÖ ß ĳ Ωμέγα Кириллица العربية עברית हिन्दी",
]


def test_hostile_names_and_text_survive_byte_for_byte(tmp_path) -> None:
    """Scenario 9: quotes, spaces, keywords in stream and field names; 60 000-char strings;
    non-Latin text -- through the real target, read back byte for byte."""
    db = tmp_path / "wh.db"
    long = ("0123456789abcdefghij" * 3000) + "ç末"
    recs = []
    for i, text in enumerate(TEXTS, start=1):
        recs.append({"id": i, "select": text, "from": text[::-1], "Group By": "x",
                     'quo"te\'s': text, "1st value": 12.5, "ação_名前": text,
                     "mod_ts": "2025-05-01T10:00:00.000000+00:00",
                     "long_text": long if i == 1 else text})
    messages = [{"type": "SCHEMA", "stream": HOSTILE_STREAM, "key_properties": ["id"],
                 "schema": {"type": "object", "properties": HOSTILE_FIELDS}}]
    messages += [{"type": "RECORD", "stream": HOSTILE_STREAM, "record": r} for r in recs]
    result = run_target({"sqlalchemy_url": f"sqlite:///{db}", "table_prefix": PREFIX,
                         "load_method": "upsert"}, messages, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    names = tables(db)
    live = [n for n in names if n.lower().startswith(PREFIX.lower() + "order")
            and not n.endswith(("_rejects", "_snap"))]
    assert len(live) == 1, names
    assert "x" not in names  # nothing was dropped or created by the name
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{live[0]}")')]
        rows = {r["id"]: dict(r) for r in conn.execute(f'SELECT * FROM "{live[0]}"')}
    assert sorted(rows) == [1, 2, 3, 4, 5], (cols, rows)
    for rec in recs:
        got = rows[rec["id"]]
        values = set(got.values())
        for prop in ("select", "from", 'quo"te\'s', "ação_名前", "long_text"):
            assert rec[prop] in values, f"{prop!r} of id {rec['id']} lost (columns {cols})"
            stored = next(v for v in got.values() if v == rec[prop])
            assert stored.encode("utf-8") == rec[prop].encode("utf-8")
    assert len(rows[1][next(c for c in cols if "long" in c)]) == len(long)


def test_non_latin_text_through_the_tap(pipes, simulator) -> None:
    """Scenario 9: WMS text with accents, CJK and emoji, through tap and target."""
    pipes.run("full")
    report = simulator.apply_changes(update=len(TEXTS), entities=["order_hdr"])
    state = simulator.store.snapshot().states["order_hdr"]
    for rid, text in zip(report.ids("order_hdr", "updated"), TEXTS, strict=True):
        state.overrides[rid][1]["spl_instr"] = text  # the served record itself
        state.overrides[rid][1]["cust_long_text_1"] = text[::-1]
    pipes.run("incremental")
    assert_matches_wms(pipes.warehouse, simulator, context="after non-Latin text")
    with sqlite3.connect(pipes.warehouse) as db:
        got = dict(db.execute(f"SELECT spl_instr, cust_long_text_1 FROM {PREFIX}order_hdr"))
    for text in TEXTS:
        assert got.get(text) == text[::-1], text


@pytest.mark.parametrize("case", ["nowhere", "wrong_password", "no_access"])
def test_bad_endpoint_or_credentials_fail_fast_and_write_nothing(pipes, simulator, tmp_path,
                                                                 case) -> None:
    """Scenario 9: a base_url pointing nowhere, a wrong password, a user without API grants:
    the run fails within seconds with a message naming the problem, and no table is created.
    Auth errors use the project's retry defaults (max_retries 8, backoff 1 s: they must not be
    retried); the unreachable host a 0.01 s backoff (see the xfail below for the defaults)."""
    pipes.tap_extra["retry_backoff_seconds"] = 1.0
    if case == "nowhere":
        pipes.tap_extra["retry_backoff_seconds"] = 0.01
        pipes.tap_extra["base_url"] = "http://127.0.0.1:9/nowhere"
        words = ["127.0.0.1:9"]
    elif case == "wrong_password":
        pipes.tap_extra["password"] = "not-the-password"
        words = ["401", "not authorised"]
    else:
        pipes.tap_extra.update(username="wms_noaccess", password="wms_noaccess_password")
        words = ["403", "not authorised"]
    started = time.monotonic()
    result = pipes.run("full", check=False, timeout=60)
    took = time.monotonic() - started
    assert result.returncode != 0
    for w in words:
        assert w in result.tap_log, result.tap_log[-2000:]
    assert tables(pipes.warehouse) == [], "a failed run created tables"
    assert took < 20, f"took {took:.0f}s to fail"


def test_unreachable_base_url_fails_fast_with_project_retry_defaults(pipes, tmp_path) -> None:
    pipes.tap_extra.update(base_url="http://127.0.0.1:9/nowhere", retry_backoff_seconds=1.0,
                           max_retries=8)
    started = time.monotonic()
    result = pipes.run("full", check=False, timeout=25)
    took = time.monotonic() - started
    assert result.returncode != 0 and took < 20, f"took {took:.0f}s (rc {result.returncode})"
    assert ENTITIES
