"""Helpers of the end-to-end tests: the project as a user drives it, and WMS's truth."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENTITIES = ("allocation", "order_hdr", "order_dtl")


@dataclass
class Project:
    """The Meltano project, pointed at one simulator and one warehouse file."""

    env: dict[str, str]
    warehouse: Path
    logs: list[str] = field(default_factory=list)

    def meltano(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.logs.append(result.stdout + result.stderr)
        if check and result.returncode != 0:
            raise AssertionError(
                f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stderr[-6000:]}"
            )
        return result

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.warehouse) as db:
            return db.execute(sql, params).fetchall()

    def live_rows(self, entity: str) -> dict[int, str]:
        """id -> mod_ts of the rows not soft-deleted."""
        return dict(
            self.query(f"SELECT id, mod_ts FROM WMS_{entity.upper()} WHERE _sdc_deleted_at IS NULL")
        )


def utc_text(value: str) -> str:
    """The tap's UTC form of an API timestamp, to compare the warehouse with WMS."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="microseconds")


def wms_truth(sim, entity: str) -> dict[int, str]:
    """id -> mod_ts (UTC) of every record WMS holds now."""
    return {rec["id"]: utc_text(rec["mod_ts"]) for rec in sim.truth(entity)}


# --- the fault suite (issue 7): WMS truth vs warehouse, value by value -----------------------


TAP_BIN = BIN / "tap-oracle-wms"
TARGET_BIN = BIN / "target-oracle"
PREFIX = "WMS_"
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")
#: Columns every comparison reports on by name (a decimal, an FK id and its `_key`, a string).
REPRESENTATIVE = {
    "allocation": ("mod_ts", "alloc_qty", "packed_qty", "order_dtl_id", "order_dtl_id_key",
                   "pick_user", "status_id"),
    "order_hdr": ("mod_ts", "priority", "facility_id", "facility_id_key", "cust_field_1",
                  "order_nbr"),
    "order_dtl": ("mod_ts", "ord_qty", "order_id", "order_id_key", "cost", "status_id"),
}


def _norm(value: Any) -> Any:
    """One comparable form for API values and warehouse values (text, exact digits)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and _TS.match(value):
        return utc_text(value.replace("Z", "+00:00"))
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def flatten_api_record(rec: dict[str, Any]) -> dict[str, Any]:
    """What the Singer contract says the tap makes of an API record (FK -> id + `_key`)."""
    out: dict[str, Any] = {}
    for name, value in rec.items():
        if name == "url" or name.endswith("_set"):
            continue
        if isinstance(value, dict) and "id" in value and "key" in value:
            out[name], out[f"{name}_key"] = value["id"], value["key"]
        else:
            out[name] = value
    return out


def wms_state(sim, entity: str) -> dict[int, dict[str, Any]]:
    """id -> normalised flat record, for every live WMS record."""
    return {
        rec["id"]: {k: _norm(v) for k, v in flatten_api_record(rec).items()}
        for rec in sim.truth(entity)
    }


def wms_deleted(sim, entity: str) -> set[int]:
    """Every id ever deleted in the simulator (deletes are never undone, ids never reused)."""
    return set(sim.store.snapshot().states[entity].deleted)


def warehouse_rows(db_path: Path, entity: str, prefix: str = PREFIX) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute(f'SELECT * FROM "{prefix}{entity}"').fetchall()
        except sqlite3.OperationalError:
            return []
        return [dict(r) for r in rows]


def compare_with_wms(db_path: Path, sim, entities=ENTITIES, *, deletes_reconciled: bool = True,
                     limit: int = 8) -> list[str]:
    """Every difference between the warehouse and WMS now (empty list: they are equal).

    - every WMS id is in the table once, live (not soft-deleted), with the same values in every
      column the record has (mod_ts as UTC, decimals with their exact digits, FK id and `_key`);
    - no id twice;
    - with `deletes_reconciled` (after a full sync): the soft-deleted rows are exactly the
      table's ids WMS no longer has, and each of them was deleted in WMS;
    - without (after an incremental): an id WMS no longer has may still be live, but only if
      WMS deleted it (incremental syncs cannot see deletes).
    """
    problems: list[str] = []
    for entity in entities:
        truth = wms_state(sim, entity)
        deleted_in_wms = wms_deleted(sim, entity)
        rows = warehouse_rows(db_path, entity)
        seen: dict[int, dict[str, Any]] = {}
        dupes = set()
        for row in rows:
            if row["id"] in seen:
                dupes.add(row["id"])
            seen[row["id"]] = row
        if dupes:
            problems.append(f"{entity}: ids loaded twice: {sorted(dupes)[:limit]}")
        missing = sorted(set(truth) - set(seen))
        if missing:
            problems.append(f"{entity}: {len(missing)} WMS ids missing: {missing[:limit]}")
        dead = sorted(i for i in truth if i in seen and seen[i].get("_sdc_deleted_at"))
        if dead:
            problems.append(f"{entity}: {len(dead)} live WMS ids soft-deleted: {dead[:limit]}")
        diffs: list[str] = []
        for rid, want in truth.items():
            row = seen.get(rid)
            if row is None:
                continue
            for col, value in want.items():
                if col not in row:
                    diffs.append(f"id {rid}: column {col} not in table")
                    continue
                got = _norm(row[col])
                if got != value:
                    diffs.append(f"id {rid}: {col} = {got!r}, WMS has {value!r}")
        if diffs:
            problems.append(f"{entity}: {len(diffs)} stale/wrong values: {diffs[:limit]}")
        extra = set(seen) - set(truth)
        not_deleted = sorted(extra - deleted_in_wms)
        if not_deleted:
            problems.append(f"{entity}: ids WMS never had: {not_deleted[:limit]}")
        soft = {rid for rid, row in seen.items() if row.get("_sdc_deleted_at")}
        if deletes_reconciled and extra - soft:
            still = sorted(extra - soft)
            problems.append(f"{entity}: WMS-deleted ids still live: {still[:limit]}")
    return problems


def assert_matches_wms(db_path: Path, sim, *, deletes_reconciled: bool = True,
                       context: str = "", entities=ENTITIES) -> None:
    problems = compare_with_wms(db_path, sim, entities, deletes_reconciled=deletes_reconciled)
    assert not problems, f"warehouse != WMS {context}:\n  " + "\n  ".join(problems)


# --- the pipeline as piped executables: tap | target, state kept like Meltano keeps it ------

@dataclass
class PipeResult:
    kind: str
    returncode: int
    tap_log: str
    target_log: str
    state: dict[str, Any] | None  # last complete STATE the target emitted
    seconds: float

    @property
    def log(self) -> str:
        return self.tap_log + self.target_log


def last_state(text: str) -> dict[str, Any] | None:
    state = None
    for line in text.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if isinstance(msg, dict) and msg.get("type") == "STATE":
            state = msg.get("value")
        elif isinstance(msg, dict) and "bookmarks" in msg:
            state = msg
    return state


@dataclass
class Pipes:
    """`tap-oracle-wms | target-oracle` with the project's two pipeline configurations.

    Like Meltano: one state per pipeline (full / incremental), the last STATE the target emitted
    is kept even when the run fails or is killed, and after a successful full sync the
    incremental bookmarks are seeded from the full state (orchestrate's own rule, `seeds_for`).
    """

    sim: Any
    workdir: Path
    warehouse: Path
    page_size: int = 50
    tap_extra: dict[str, Any] = field(default_factory=dict)
    target_extra: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    results: list[PipeResult] = field(default_factory=list)

    def tap_config(self, kind: str) -> dict[str, Any]:
        return {
            "base_url": self.sim.base_url,
            "auth_method": "basic",
            "username": self.sim.username,
            "password": self.sim.password,
            "entities": list(ENTITIES),
            "page_size": self.page_size,
            "page_mode": "sequenced",
            "enable_incremental": kind == "incremental",
            "replication_key": "mod_ts",
            "lookback_minutes": 5,
            "timeout": 30,
            "max_retries": 8,
            "retry_backoff_seconds": 0.01,
            **self.tap_extra,
        }

    def target_config(self, kind: str) -> dict[str, Any]:
        return {
            "sqlalchemy_url": f"sqlite:///{self.warehouse}",
            "table_prefix": PREFIX,
            "business_rules": {"allocation": ["alloc_qty >= 0", "packed_qty >= 0"]},
            "load_method": "append-only" if kind == "full" else "upsert",
            "batch_size_rows": 5000 if kind == "full" else 1000,
            "pipeline_name": "full_sync" if kind == "full" else "incremental_sync",
            **self.target_extra,
        }

    def state_path(self, kind: str) -> Path:
        return self.workdir / f"state-{kind}.json"

    def state(self, kind: str) -> dict[str, Any]:
        path = self.state_path(kind)
        return json.loads(path.read_text()) if path.exists() else {}

    def start(self, kind: str) -> tuple[subprocess.Popen, Path]:
        """Start the pipe in its own process group (so a test can SIGKILL all of it)."""
        n = len(self.results)
        run = self.workdir / f"run{n:02d}-{kind}"
        run.mkdir(parents=True, exist_ok=True)
        (run / "tap.json").write_text(json.dumps(self.tap_config(kind)))
        (run / "target.json").write_text(json.dumps(self.target_config(kind)))
        state_arg = ""
        if self.state(kind):
            (run / "state-in.json").write_text(json.dumps(self.state(kind)))
            state_arg = f"--state {run / 'state-in.json'}"
        cmd = (
            "set -o pipefail; "
            f"{TAP_BIN} --config {run / 'tap.json'} {state_arg} 2> {run / 'tap.err'} | "
            f"{TARGET_BIN} --config {run / 'target.json'} "
            f"> {run / 'target.out'} 2> {run / 'target.err'}"
        )
        proc = subprocess.Popen(["bash", "-c", cmd], env=self.env, start_new_session=True)
        proc.e2e_started = time.monotonic()  # type: ignore[attr-defined]
        return proc, run

    def finish(self, kind: str, proc: subprocess.Popen, run: Path,
               timeout: float = 180) -> PipeResult:
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        out = (run / "target.out").read_text(errors="replace")
        state = last_state(out)
        result = PipeResult(
            kind, rc, (run / "tap.err").read_text(errors="replace"),
            (run / "target.err").read_text(errors="replace"), state,
            time.monotonic() - proc.e2e_started,  # type: ignore[attr-defined]
        )
        self.results.append(result)
        if state is not None:  # Meltano keeps a failed run's last state too
            self.state_path(kind).write_text(json.dumps(state))
        if rc == 0 and kind == "full":
            self._seed_incremental()
        return result

    def _seed_incremental(self) -> None:
        from orchestrate.bookmarks import seeds_for

        incr = self.state("incremental")
        seeds = seeds_for(self.state("full"), incr)
        if seeds:
            incr.setdefault("bookmarks", {}).update(seeds)
            self.state_path("incremental").write_text(json.dumps(incr))

    def run(self, kind: str, *, check: bool = True, timeout: float = 180) -> PipeResult:
        proc, run = self.start(kind)
        result = self.finish(kind, proc, run, timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{kind} pipe exited {result.returncode}:\n--- tap\n{result.tap_log[-3000:]}"
                f"\n--- target\n{result.target_log[-3000:]}"
            )
        return result

    def kill_after(self, kind: str, seconds: float) -> PipeResult:
        """Start a run and SIGKILL the whole pipe after `seconds` (if still running)."""
        proc, run = self.start(kind)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        return self.finish(kind, proc, run)


class SimulatorWentBackwards(AssertionError):
    """A simulated change gave a row a mod_ts older than the one it had (see the strict xfail
    `test_late_commit_never_moves_a_rows_mod_ts_backwards`)."""


def row_instants(sim, entity: str) -> dict[int, str]:
    return {rec["id"]: utc_text(rec["mod_ts"]) for rec in sim.truth(entity)}


def backwards_rows(before: dict[str, dict[int, str]], sim) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for entity, old in before.items():
        now = row_instants(sim, entity)
        back = sorted(i for i, ts in now.items() if i in old and ts < old[i])
        if back:
            out[entity] = back
    return out


def apply_changes_checked(sim, **counts: Any):
    """`sim.apply_changes`, refusing to go on when a row's mod_ts moved backwards: with a
    newer-wins warehouse the expected outcome is then undefined (a known simulator issue)."""
    entities = counts.get("entities") or ENTITIES
    before = {e: row_instants(sim, e) for e in entities} if counts.get("late") else {}
    report = sim.apply_changes(**counts)
    back = backwards_rows(before, sim) if before else {}
    if back:
        raise SimulatorWentBackwards(f"late change moved mod_ts backwards: {back} ({counts})")
    return report
