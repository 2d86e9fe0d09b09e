"""The floor: the least work that moves WMS records into SQLite, as a yardstick.

It does only what no loader can skip: one HTTP session, sequenced paging in id order, one fast
JSON parse per page, FK objects flattened to `<fk>` (id) and `<fk>_key` like the tap's Singer
records, `url` and `*_set` links dropped, and `sqlite3.executemany` in 5,000-row transactions
into a plain table. No schema discovery, no type conversion, no validation, no Singer
serialisation: whatever the real pipeline spends beyond this is overhead we chose.

Run in its own process (`python -m benchmarks.floor --base-url ... --db ...`) so its wall time and
peak RSS are measured like every other step's; it prints `{"entity": rows, ...}` as JSON.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import requests

from benchmarks.paths import ENTITIES, PASSWORD, USERNAME

API = "/wms/lgfapi/v10/entity"
BATCH_ROWS = 5000
PAGE_SIZE = 1000
KEY_SUFFIX = "_key"


def pages(session: requests.Session, url: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Every page of one entity, following `next_page` as given (never building cursors)."""
    next_url: str | None = url
    params: dict[str, Any] | None = {
        "page_mode": "sequenced", "page_size": page_size, "ordering": "id",
    }
    while next_url:
        resp = session.get(next_url, params=params, timeout=300)
        if resp.status_code == 404:  # lgfapi answers 404 when nothing matches
            return
        resp.raise_for_status()
        page = orjson.loads(resp.content)
        yield page["results"]
        next_url, params = page.get("next_page"), None


class TablePlan:
    """Column layout of one table, decided from the first page and widened if a field appears.

    Raw fields are kept in one list; FK fields (values arriving as `{id, key, url}` objects, or
    named `*_id` other than `status_id`) produce two columns. The per-record work is then one
    tuple built by list lookups.
    """

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.fks: set[str] = set()
        self.columns: list[str] = []

    def add(self, results: Sequence[dict[str, Any]]) -> list[str]:
        """Take in the fields of a page; return the new columns (empty once the plan is stable)."""
        seen = set(self.raw)
        new_raw = [k for k in dict.fromkeys(k for rec in results for k in rec) if k not in seen]
        new_cols: list[str] = []
        for name in new_raw:
            if name == "url" or name.endswith("_set"):
                continue
            is_fk = (name.endswith("_id") and name != "status_id") or any(
                isinstance(rec.get(name), dict) for rec in results
            )
            self.raw.append(name)
            new_cols.append(name)
            if is_fk:
                self.fks.add(name)
                new_cols.append(name + KEY_SUFFIX)
        self.columns += new_cols
        return new_cols

    def row(self, rec: dict[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = []
        fks = self.fks
        for name in self.raw:
            value = rec.get(name)
            if name in fks:
                if isinstance(value, dict):
                    out.append(value.get("id"))
                    out.append(value.get("key"))
                else:
                    out.append(value)
                    out.append(None)
            else:
                out.append(value)
        return tuple(out)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_entity(
    session: requests.Session, db: sqlite3.Connection, base_url: str, entity: str, page_size: int,
) -> int:
    """Load one entity into a fresh table named after it; return the rows written."""
    plan = TablePlan()
    table = _quote(entity)
    db.execute(f"DROP TABLE IF EXISTS {table}")
    insert = ""
    buffer: list[tuple[Any, ...]] = []
    written = 0

    def flush() -> None:
        db.execute("BEGIN")  # one transaction per batch
        db.executemany(insert, buffer)
        db.execute("COMMIT")
        buffer.clear()

    for results in pages(session, f"{base_url.rstrip('/')}{API}/{entity}/", page_size):
        if not results:
            continue
        new_cols = plan.add(results)
        if new_cols:
            if buffer:
                flush()
            if insert:
                for col in new_cols:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(col)}")
            else:
                db.execute(f"CREATE TABLE {table} ({', '.join(map(_quote, plan.columns))})")
            cols = ", ".join(map(_quote, plan.columns))
            marks = ", ".join("?" * len(plan.columns))
            insert = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
        row = plan.row
        buffer.extend(row(rec) for rec in results)
        written += len(results)
        if len(buffer) >= BATCH_ROWS:
            flush()
    if buffer:
        flush()
    return written


def load(
    base_url: str, db_path: Path, *, username: str = USERNAME, password: str = PASSWORD,
    entities: Sequence[str] = ENTITIES, page_size: int = PAGE_SIZE,
) -> dict[str, int]:
    """Load every entity into the SQLite file `db_path`; return rows written per entity."""
    counts: dict[str, int] = {}
    db = sqlite3.connect(db_path, isolation_level=None)  # transactions are explicit
    try:
        with requests.Session() as session:
            session.auth = (username, password)
            for entity in entities:
                counts[entity] = load_entity(session, db, base_url, entity, page_size)
    finally:
        db.close()
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    parser.add_argument("--base-url", required=True, help="simulator base URL, e.g. .../dev")
    parser.add_argument("--db", required=True, type=Path, help="SQLite file to write")
    parser.add_argument("--username", default=USERNAME)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--entities", default=",".join(ENTITIES))
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    args = parser.parse_args(argv)
    counts = load(
        args.base_url, args.db, username=args.username, password=args.password,
        entities=[e for e in args.entities.split(",") if e], page_size=args.page_size,
    )
    sys.stdout.buffer.write(orjson.dumps(counts) + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
