"""Issue 17 end to end: a hostile WMS → `tap-oracle-wms | target-oracle`, on SQLite and in
Oracle mode, with Basic and OAuth2 logins.

The simulator's hostile mode names a foreign origin in every `next_page` (a listener that
records any Authorization header) and plants hostile values in records (a date-time that is
not one, "NaN"/"Infinity" decimals, a lone surrogate, an integer past 64 bits, control
characters, 1 MB of text). Every record must be stored exactly or quarantined with a reason,
stored + quarantined = sent, and no credential may reach the foreign origin.

On SQLite the integer past 64 bits fails the target's run until issue 17 defect 3 (the
target's SQLite conversion) is fixed; the record stays in on purpose.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import BIN, PREFIX, ROOT, TAP_BIN, TARGET_BIN, flatten_api_record, utc_text

from tests.oracle_mode.catalog import fetch_text

pytestmark = pytest.mark.e2e
ENTITIES = ("order_hdr", "allocation")
WRAPPER = Path(__file__).with_name("oracle_mode_target.py")
#: Quirks no column can hold as sent: quarantined, never stored altered.
MUST_QUARANTINE = {"bad_datetime", "nan_decimal", "infinity_decimal", "huge_text"}


def _tap_config(sim: Any, auth: str) -> dict[str, Any]:
    login: dict[str, Any] = (
        {"auth_method": "oauth2", "oauth_token_url": sim.token_url,
         "oauth_client_id": sim.client_id, "oauth_client_secret": sim.client_secret}
        if auth == "oauth2"
        else {"auth_method": "basic", "username": sim.username, "password": sim.password}
    )
    return {"base_url": sim.base_url, **login, "entities": list(ENTITIES), "page_size": 40,
            "page_mode": "sequenced", "timeout": 30, "max_retries": 6,
            "retry_backoff_seconds": 0.01}


def _run(sim: Any, work: Path, auth: str, backend: str) -> tuple[int, str, Path]:
    db = work / "warehouse.db"
    if backend == "oracle-mode":
        from tests import oracle_mode

        url = oracle_mode.oracle_url(str(db))
        target = f"{sys.executable} {WRAPPER}"
    else:
        url, target = f"sqlite:///{db}", str(TARGET_BIN)
    (work / "tap.json").write_text(json.dumps(_tap_config(sim, auth)))
    (work / "target.json").write_text(json.dumps({
        "sqlalchemy_url": url, "table_prefix": PREFIX, "load_method": "append-only",
        "max_rejects": 100_000, "pipeline_name": "full_sync"}))
    cmd = (f"set -o pipefail; {TAP_BIN} --config {work / 'tap.json'} 2> {work / 'tap.err'} | "
           f"{target} --config {work / 'target.json'} > {work / 'target.out'} "
           f"2> {work / 'target.err'}")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["bash", "-c", cmd], env=env, cwd=ROOT, timeout=300, check=False)
    log = (work / "tap.err").read_text(errors="replace") + (work / "target.err").read_text(
        errors="replace")
    return proc.returncode, log, db


def _rows(db: Path, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
    return [{k.lower(): fetch_text(r[k]) for k in r.keys()} for r in rows]  # noqa: SIM118


def _same(stored: Any, sent: Any) -> bool:
    """Stored exactly: same text, same number (Oracle's NUMBER drops trailing zeros), same
    instant, same boolean."""
    if sent is None or stored is None:
        return sent is stored
    if isinstance(sent, bool):
        return int(sent) == int(stored)
    if isinstance(sent, (int, Decimal)) and not isinstance(sent, bool):
        try:
            return Decimal(str(stored)) == Decimal(str(sent))
        except InvalidOperation:
            return False
    if isinstance(sent, str):
        try:
            return utc_text(stored) == utc_text(sent)
        except (TypeError, ValueError):
            pass
        if isinstance(stored, (int, float)) or _is_number(sent):
            try:
                return Decimal(str(stored)) == Decimal(sent)
            except InvalidOperation:
                return False
    return str(stored) == str(sent)


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _sent(sim: Any, entity: str) -> dict[int, dict[str, Any]]:
    """id -> the flat record as the tap sends it: WMS's truth with the planted values."""
    ent = sim.store.entity(entity)
    out = {r["id"]: flatten_api_record(r) for r in sim.truth(entity)}
    for rid, (quirk, field) in sim.app.hostile.planted(ent, list(out)).items():
        out[rid][field] = "\ufffd lone" if quirk.name == "lone_surrogate" else quirk.value
        out[rid]["__quirk__"] = quirk.name
    return out


@pytest.mark.parametrize("auth", ["basic", "oauth2"])
@pytest.mark.parametrize("backend", ["sqlite", "oracle-mode"])
def test_every_hostile_record_is_stored_exactly_or_quarantined(simulator, tmp_path, backend,
                                                               auth) -> None:
    simulator.set_hostile(foreign_next_page=True, values_every=11, values_entities=["order_hdr",
                          "allocation"])
    rc, log, db = _run(simulator, tmp_path, auth, backend)
    catcher = simulator.app.hostile.catcher
    assert catcher.requests == 0 and catcher.received == []  # no credential left the tenant
    assert rc == 0, log[-4000:]
    for secret in (simulator.password, simulator.client_secret):
        assert secret not in log
    quirks_seen: set[str] = set()
    for entity in ENTITIES:
        sent = _sent(simulator, entity)
        stored = {r["id"]: r for r in _rows(db, f"{PREFIX}{entity}")}
        rejected = {int(r["key_1"]): r for r in _rows(db, f"{PREFIX}{entity}_rejects")}
        assert not set(stored) & set(rejected), "a record both stored and quarantined"
        assert len(stored) + len(rejected) == len(sent)
        assert set(stored) | set(rejected) == set(sent)
        for rid, rec in sent.items():
            quirk = rec.pop("__quirk__", None)
            quirks_seen.add(quirk or "")
            if rid in rejected:
                assert rejected[rid]["reason"], (entity, rid)
                assert quirk is not None, f"{entity} {rid} quarantined for no reason we planted:" \
                                          f" {rejected[rid]['reason'][:300]}"
                continue
            assert quirk not in MUST_QUARANTINE, (entity, rid, quirk)
            row = stored[rid]
            wrong = {k: (str(row.get(k))[:60], str(v)[:60]) for k, v in rec.items()
                     if k in row and not _same(row[k], v)}
            assert not wrong, (entity, rid, quirk, wrong)
    assert {"bad_datetime", "nan_decimal", "lone_surrogate", "huge_integer"} <= quirks_seen
