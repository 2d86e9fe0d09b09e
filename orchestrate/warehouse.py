"""Read the target's LOAD_AUDIT table and count live rows, through SQLAlchemy only.

The target owns the tables (contracts.md §3); ops only reads them, so it must name them exactly
as the target made them:

* Oracle: in the target's `default_target_schema` when it has one (ops' setting
  `target_schema`, fed the same `ORACLE_SCHEMA`), else in the login's own schema; names upper
  case and unquoted (`WMS_DW.WMS_LOAD_AUDIT`), double-quoted only where Oracle needs it
  (`"_SDC_DELETED_AT"`), which is the target's own rule. A reader that left out the schema
  found nothing in history and reconciliation and failed with ORA-00942 counting rows.
* SQLite: the target ignores the schema (one embedded database, no schemas), so ops does too;
  every name is quoted, and SQLite matches it case-insensitively with the target's lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.oracle.base import RESERVED_WORDS as ORACLE_RESERVED

from orchestrate.config import conform_schema
from orchestrate.dbaccess import reader_engine
from orchestrate.meltano_runs import norm_run_id
from orchestrate.timeutil import parse_ts

_PLAIN_ORACLE = re.compile(r"^[A-Z][A-Z0-9_$#]*$")
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

    def __init__(self, url: str, table_prefix: str = "", schema: str | None = None) -> None:
        # A SQLite warehouse that no run has created yet is an empty one: read it, never create
        # it (ops only reads) and never fail on its missing folder.
        engine = reader_engine(url)
        self.missing = engine is None
        self.engine = engine if engine is not None else sa.create_engine("sqlite://")
        self.prefix = table_prefix
        self.oracle = self.engine.dialect.name == "oracle"
        self.schema = conform_schema(schema) if self.oracle and schema else None

    def ident(self, name: str) -> str:
        """A column or table name the way the target created it (see the module docstring)."""
        if self.oracle:
            name = name.upper()
            if _PLAIN_ORACLE.match(name) and name.lower() not in ORACLE_RESERVED:
                return name
        return '"' + name.replace('"', '""') + '"'

    def table(self, name: str) -> str:
        """A table of the target, in the target's schema (Oracle)."""
        return f"{self.ident(self.schema)}.{self.ident(name)}" if self.schema else self.ident(name)

    @property
    def audit_table(self) -> str:
        """`<table_prefix>LOAD_AUDIT`."""
        return f"{self.prefix}LOAD_AUDIT"

    def has_table(self, name: str) -> bool:
        """True when the table exists (in the target's schema; case-insensitively on SQLite)."""
        inspector = sa.inspect(self.engine)
        if self.oracle:  # upper case: SQLAlchemy passes it on as is, the dictionary's spelling
            return inspector.has_table(name.upper(), schema=self.schema)
        return name.lower() in {n.lower() for n in inspector.get_table_names()}

    def audit_sql(self) -> str:
        """Per run, pipeline, stream, table and event: the audit counts, summed in SQL."""
        q = self.ident
        sums = ", ".join(f"SUM({q(c)}) AS {c}" for c in COUNTS)
        keys = ", ".join(q(c) for c in ("run_id", "pipeline", "stream", "table_name", "event"))
        return (
            f"SELECT {q('run_id')} AS run_id, {q('pipeline')} AS pipeline, "
            f"{q('stream')} AS stream, {q('table_name')} AS table_name, {q('event')} AS event, "
            f"{sums}, MIN({q('started_at')}) AS first_started, "
            f"MAX({q('finished_at')}) AS last_finished FROM {self.table(self.audit_table)} "
            f"GROUP BY {keys}"
        )

    def live_count_sql(self, table_name: str) -> str:
        """Rows of one entity table not soft-deleted by a publish."""
        return (f"SELECT COUNT(*) FROM {self.table(table_name)} "
                f"WHERE {self.ident('_sdc_deleted_at')} IS NULL")

    def live_ids_sql(self, table_name: str) -> str:
        """Ids of the live rows of one entity table."""
        return (f"SELECT {self.ident('id')} FROM {self.table(table_name)} "
                f"WHERE {self.ident('_sdc_deleted_at')} IS NULL")

    def audit_counts(self, run_ids: list[str] | None = None) -> dict[str, list[StreamCounts]]:
        """Per normalised run id, the per-stream totals from LOAD_AUDIT (grouped in SQL)."""
        if not self.has_table(self.audit_table):
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(self.audit_sql())).mappings().all()
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
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(self.live_count_sql(table_name))).scalar() or 0)

    def live_ids(self, table_name: str) -> set[str]:
        """Ids of live rows, as text (WMS ids are integers; text keeps comparison simple)."""
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(sa.text(self.live_ids_sql(table_name)))}

    def dispose(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

