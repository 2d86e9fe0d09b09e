"""`make demo`: both pipelines, end to end, against the WMS simulator and the embedded warehouse.

It shows what a user of this project gets: a full sync that lands every WMS record once, a round
of changes in WMS, an incremental sync that fetches only those changes, and a check that the
warehouse again matches WMS id for id. Everything runs through the real commands
(`wms-simulator`, `meltano run`), so a green demo is a real end-to-end run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("DEMO_PORT", "8765"))
SCALE = int(os.environ.get("DEMO_SCALE", "20000"))
SEED = int(os.environ.get("DEMO_SEED", "42"))
BASE_URL = f"http://127.0.0.1:{PORT}/dev"
AUTH = ("wms_dev", "wms_dev_password")
ENTITIES = ("allocation", "order_hdr", "order_dtl")
WAREHOUSE = ROOT / "output" / "warehouse.db"
BIN = Path(sys.executable).parent


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(*args: str) -> None:
    """Run a command in the project, failing the demo with its name if it fails."""
    print("$ " + " ".join(args), flush=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(args, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"demo failed: `{' '.join(args)}` exited with {result.returncode}")


def start_simulator() -> subprocess.Popen[bytes]:
    """Start `wms-simulator serve` and wait until it answers; refuse a port already taken."""
    try:
        requests.get(BASE_URL, timeout=1)
    except requests.ConnectionError:
        pass
    else:
        raise SystemExit(
            f"demo failed: something already listens on 127.0.0.1:{PORT}; stop it or set DEMO_PORT"
        )
    cmd = [
        str(BIN / "wms-simulator"),
        "serve",
        "--port",
        str(PORT),
        "--environment",
        "dev",
        "--scale",
        str(SCALE),
        "--seed",
        str(SEED),
    ]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo failed: the simulator exited with {proc.returncode}")
        try:
            if requests.get(f"{BASE_URL}/wms/lgfapi/v10/entity/", auth=AUTH, timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("demo failed: the simulator did not answer within 30 s")


def wms_ids(entity: str) -> set[int]:
    """Every id WMS holds for an entity, read through the API as a user would check it."""
    ids: set[int] = set()
    url: str | None = f"{BASE_URL}/wms/lgfapi/v10/entity/{entity}/"
    params: dict[str, str] | None = {
        "fields": "id",
        "ordering": "id",
        "page_size": "1250",
        "page_mode": "sequenced",
    }
    with requests.Session() as session:
        while url:
            resp = session.get(url, params=params, auth=AUTH, timeout=60)
            if resp.status_code == 404:
                break
            resp.raise_for_status()
            page = resp.json()
            ids.update(row["id"] for row in page["results"])
            url, params = page.get("next_page"), None
    return ids


def warehouse_rows() -> dict[str, tuple[int, int, set[int]]]:
    """Per entity: live rows, soft-deleted rows, and the live ids."""
    out: dict[str, tuple[int, int, set[int]]] = {}
    with sqlite3.connect(WAREHOUSE) as db:
        for entity in ENTITIES:
            table = f"WMS_{entity.upper()}"
            columns = {row[1].lower() for row in db.execute(f"PRAGMA table_info({table})")}
            deleted = "_sdc_deleted_at IS NOT NULL" if "_sdc_deleted_at" in columns else "0"
            live_ids = {r[0] for r in db.execute(f"SELECT id FROM {table} WHERE NOT ({deleted})")}
            n_deleted = db.execute(f"SELECT count(*) FROM {table} WHERE {deleted}").fetchone()[0]
            total = db.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone()
            if total[0] != total[1]:
                raise SystemExit(
                    f"demo failed: {table} holds duplicate ids ({total[0]} rows, {total[1]} ids)"
                )
            out[entity] = (len(live_ids), n_deleted, live_ids)
    return out


def last_incremental_audit() -> list[tuple]:
    """What the last incremental run did, per stream, from the target's load audit table."""
    with sqlite3.connect(WAREHOUSE) as db:
        run_id = db.execute(
            "SELECT run_id FROM WMS_LOAD_AUDIT WHERE pipeline = 'incremental_sync' "
            "ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        if not run_id:
            return []
        return db.execute(
            "SELECT stream, sum(inserted), sum(updated), sum(unchanged), sum(rejected) "
            "FROM WMS_LOAD_AUDIT WHERE run_id = ? GROUP BY stream ORDER BY stream",
            run_id,
        ).fetchall()


def compare_with_wms(title: str) -> None:
    step(f"{title}: warehouse vs WMS")
    rows = warehouse_rows()
    mismatches = 0
    print(f"{'table':<16}{'WMS ids':>10}{'live rows':>11}{'soft-deleted':>14}  match")
    for entity in ENTITIES:
        truth = wms_ids(entity)
        live, deleted, ids = rows[entity]
        same = ids == truth
        mismatches += not same
        print(
            f"WMS_{entity.upper():<12}{len(truth):>10}{live:>11}{deleted:>14}  "
            f"{'yes' if same else 'NO'}"
        )
    if mismatches:
        raise SystemExit(f"demo failed: {mismatches} table(s) differ from WMS")


def main() -> None:
    if not shutil.which("meltano", path=str(BIN)):
        raise SystemExit("demo failed: meltano is not installed; run `make demo` (it installs it)")
    step(f"Starting the WMS simulator (scale {SCALE}, seed {SEED}) on 127.0.0.1:{PORT}")
    sim = start_simulator()
    try:
        step("Full sync: every record of allocation, order_hdr, order_dtl")
        run("meltano", "run", "full_sync")
        compare_with_wms("After the full sync")

        step("Changes in WMS: updates, inserts, a batch sharing one mod_ts, late commits")
        run(
            "wms-simulator",
            "change",
            "--base-url",
            BASE_URL,
            "--update",
            "40",
            "--insert",
            "15",
            "--tie",
            "30",
            "--late",
            "3",
        )

        step("Incremental sync: only what changed since the mod_ts bookmark (+ lookback)")
        run("meltano", "run", "incremental_sync")
        print(f"{'stream':<14}{'inserted':>10}{'updated':>9}{'unchanged':>11}{'rejected':>10}")
        for stream, ins, upd, unch, rej in last_incremental_audit():
            print(f"{stream:<14}{ins:>10}{upd:>9}{unch:>11}{rej:>10}")
        stats = requests.get(f"{BASE_URL}/_sim/stats", timeout=5).json()
        served = {e: sum(kinds.values()) for e, kinds in stats.get("requests", {}).items() if e}
        print("requests the simulator served (both runs): " + json.dumps(served, sort_keys=True))
        compare_with_wms("After the incremental sync")
        print(
            f"\nDemo OK. The warehouse is {WAREHOUSE.relative_to(ROOT)} "
            "(sqlite3 it, or point the dev loader at Oracle)."
        )
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()


if __name__ == "__main__":
    main()
