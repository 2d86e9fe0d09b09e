"""What a step left in its SQLite file: the records it actually landed, not what it claims.

Rates are computed from rows found in the output (or RECORD messages in a Singer file), so a step
that silently drops records cannot look fast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import orjson

from benchmarks.paths import ENTITIES


def _tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1].lower() for r in db.execute(f'PRAGMA table_info("{table}")')}


def entity_table(tables: Sequence[str], entity: str, prefix: str = "WMS_") -> str | None:
    """The table of an entity: `<prefix><ENTITY>` (any case), else a bare `<entity>`."""
    by_lower = {t.lower(): t for t in tables}
    return by_lower.get(f"{prefix}{entity}".lower()) or by_lower.get(entity.lower())


def live_rows(path: Path, entities: Sequence[str] = ENTITIES) -> dict[str, int]:
    """Rows per entity that are not soft-deleted (tables missing count as 0)."""
    out: dict[str, int] = {}
    with sqlite3.connect(path) as db:
        tables = _tables(db)
        for entity in entities:
            table = entity_table(tables, entity)
            if table is None:
                out[entity] = 0
                continue
            where = " WHERE _sdc_deleted_at IS NULL" if "_sdc_deleted_at" in _columns(
                db, table) else ""
            out[entity] = db.execute(f'SELECT count(*) FROM "{table}"{where}').fetchone()[0]
    return out


def distinct_ids(path: Path, entity: str) -> tuple[int, int]:
    """(rows, distinct ids) of an entity's table: equal when every id is there once."""
    with sqlite3.connect(path) as db:
        table = entity_table(_tables(db), entity)
        if table is None:
            return (0, 0)
        return db.execute(f'SELECT count(*), count(DISTINCT id) FROM "{table}"').fetchone()


def last_run_audit(path: Path, pipeline: str) -> dict[str, int] | None:
    """Sums of the load audit's counters over the latest run of `pipeline` (None if no audit)."""
    with sqlite3.connect(path) as db:
        table = entity_table(_tables(db), "load_audit")
        if table is None:
            return None
        cols = _columns(db, table)
        if not {"run_id", "pipeline", "finished_at"} <= cols:
            return None
        row = db.execute(
            f'SELECT run_id FROM "{table}" WHERE pipeline = ? ORDER BY finished_at DESC LIMIT 1',
            (pipeline,),
        ).fetchone()
        if row is None:
            return None
        names = [c for c in ("inserted", "updated", "unchanged", "deleted", "rejected")
                 if c in cols]
        sums = db.execute(
            f'SELECT {", ".join(f"coalesce(sum({c}), 0)" for c in names)} FROM "{table}" '
            "WHERE run_id = ? AND (event IS NULL OR event = 'batch')"
            if "event" in cols else
            f'SELECT {", ".join(f"coalesce(sum({c}), 0)" for c in names)} FROM "{table}" '
            "WHERE run_id = ?",
            (row[0],),
        ).fetchone()
        return dict(zip(names, sums, strict=True))


def singer_records(path: Path) -> dict[str, int]:
    """RECORD messages per stream in a Singer file (one JSON message per line)."""
    counts: dict[str, int] = {}
    with path.open("rb") as fh:
        for line in fh:
            if b'"RECORD"' not in line:  # cheap skip of SCHEMA/STATE/ACTIVATE_VERSION lines
                continue
            msg = orjson.loads(line)
            if msg.get("type") == "RECORD":
                stream = msg.get("stream", "")
                counts[stream] = counts.get(stream, 0) + 1
    return counts


def live_ids(path: Path, entity: str) -> list[int]:
    """Ids of the entity's live rows, duplicates kept (a doubled id must show up as one)."""
    with sqlite3.connect(path) as db:
        table = entity_table(_tables(db), entity)
        if table is None:
            return []
        where = " WHERE _sdc_deleted_at IS NULL" if "_sdc_deleted_at" in _columns(
            db, table) else ""
        return [int(r[0]) for r in db.execute(f'SELECT id FROM "{table}"{where}')]


def id_mismatches(path: Path, truth: dict[str, list[int]]) -> dict[str, str]:
    """Per entity, how the warehouse differs from the WMS's ids (empty: equal id for id)."""
    out: dict[str, str] = {}
    for entity, wms_ids in truth.items():
        landed = live_ids(path, entity)
        have, want = set(landed), set(wms_ids)
        problems = [f"{n} {what}" for n, what in (
            (len(want - have), "missing"), (len(have - want), "extra"),
            (len(landed) - len(have), "duplicated")) if n]
        if problems:
            out[entity] = ", ".join(problems)
    return out
