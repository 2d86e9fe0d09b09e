"""Read the target's LOAD_AUDIT table and count live rows, through SQLAlchemy only.

The target owns the tables (contracts.md §3); ops only reads them. Oracle folds unquoted names to
upper case and rejects unquoted names starting with `_`, so every identifier is quoted and upper
cased on Oracle; SQLite matches names case-insensitively, so the same quoted name works there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from orchestrate.meltano_runs import norm_run_id
from orchestrate.timeutil import parse_ts

COUNTS = ("inserted", "updated", "unchanged", "deleted", "rejected")


@dataclass
class StreamCounts:
    """Audit totals of one run for one stream, batches and publish kept apart."""

    stream: str
    table_name: str
    pipeline: str
    batch: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    publish: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    published: bool = False
    first_started_at: datetime | None = None
    last_finished_at: datetime | None = None

    @property
    def effective(self) -> dict[str, int]:
        """What the run did to the live table: the publish when there was one, else the batches.

        A full sync appends a new table version in batches and only the publish changes the
        live rows; rejects are only known per batch.
        """
        base = dict(self.publish if self.published else self.batch)
        base["rejected"] = self.batch["rejected"] + self.publish["rejected"]
        return base


class Warehouse:
    """Read access to the warehouse the target writes."""

    def __init__(self, url: str, table_prefix: str = "") -> None:
        parsed = sa.engine.make_url(url)
        # A SQLite warehouse that no run has created yet is an empty one: read it, never create
        # it (ops only reads) and never fail on its missing folder.
        self.missing = parsed.drivername.startswith("sqlite") and not (
            parsed.database and Path(parsed.database).expanduser().exists()
        )
        self.engine = sa.create_engine("sqlite://" if self.missing else url)
        self.prefix = table_prefix
        self.oracle = self.engine.dialect.name == "oracle"

    def ident(self, name: str) -> str:
        """Quote an identifier the way the target created it."""
        return '"' + (name.upper() if self.oracle else name).replace('"', '""') + '"'

    @property
    def audit_table(self) -> str:
        """`<table_prefix>LOAD_AUDIT`."""
        return f"{self.prefix}LOAD_AUDIT"

    def has_table(self, name: str) -> bool:
        """True when the table exists (case-insensitively)."""
        names = {n.lower() for n in sa.inspect(self.engine).get_table_names()}
        return name.lower() in names

    def audit_counts(self, run_ids: list[str] | None = None) -> dict[str, list[StreamCounts]]:
        """Per normalised run id, the per-stream totals from LOAD_AUDIT (grouped in SQL)."""
        if not self.has_table(self.audit_table):
            return {}
        q = self.ident
        sums = ", ".join(f"SUM({q(c)}) AS {c}" for c in COUNTS)
        sql = (
            f"SELECT {q('run_id')} AS run_id, {q('pipeline')} AS pipeline, "
            f"{q('stream')} AS stream, {q('table_name')} AS table_name, {q('event')} AS event, "
            f"{sums}, MIN({q('started_at')}) AS first_started, "
            f"MAX({q('finished_at')}) AS last_finished FROM {q(self.audit_table)} "
            f"GROUP BY {q('run_id')}, {q('pipeline')}, {q('stream')}, {q('table_name')}, "
            f"{q('event')}"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(sql)).mappings().all()
        wanted = {norm_run_id(r) for r in run_ids} if run_ids is not None else None
        out: dict[str, dict[str, StreamCounts]] = {}
        for row in rows:
            rid = norm_run_id(row["run_id"])
            if wanted is not None and rid not in wanted:
                continue
            key = str(row["stream"])
            per_run = out.setdefault(rid, {})
            sc = per_run.get(key) or StreamCounts(key, str(row["table_name"]), str(row["pipeline"]))
            per_run[key] = sc
            target = sc.publish if str(row["event"]) == "publish" else sc.batch
            if str(row["event"]) == "publish":
                sc.published = True
            for c in COUNTS:
                target[c] += int(row[c] or 0)
            started, finished = parse_ts(row["first_started"]), parse_ts(row["last_finished"])
            if started and (sc.first_started_at is None or started < sc.first_started_at):
                sc.first_started_at = started
            if finished and (sc.last_finished_at is None or finished > sc.last_finished_at):
                sc.last_finished_at = finished
        return {rid: sorted(v.values(), key=lambda s: s.stream) for rid, v in out.items()}

    def live_count(self, table_name: str) -> int:
        """Rows not soft-deleted by a publish."""
        q = self.ident
        sql = f"SELECT COUNT(*) FROM {q(table_name)} WHERE {q('_sdc_deleted_at')} IS NULL"
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar() or 0)

    def live_ids(self, table_name: str) -> set[str]:
        """Ids of live rows, as text (WMS ids are integers; text keeps comparison simple)."""
        q = self.ident
        sql = f"SELECT {q('id')} FROM {q(table_name)} WHERE {q('_sdc_deleted_at')} IS NULL"
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(sa.text(sql))}

    def dispose(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
