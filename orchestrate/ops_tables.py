"""The tables of the ops DB, written once for SQLite, PostgreSQL and Oracle.

Every statement on them is SQLAlchemy Core, so one text of each works on the three databases
`ops_db_url` may name. Three choices make that possible:

* Ids are made by the writer (`new_id`: microseconds since the epoch, times 1000, plus a
  random 0-999), not by a sequence, identity column or `RETURNING`: one plain INSERT on every
  database, and ids still sort by time across hosts (their clocks agree; leases need it too).
* Text that can grow (messages, reasons, commands) is clipped to its column's size in bytes on
  the way in (`Clipped`), as Oracle's VARCHAR2 counts bytes; nothing reaches a LOB.
* The partial unique index on open alerts exists where the database has partial indexes
  (SQLite, PostgreSQL); everywhere, writers take turns through `ops_writer` (see `opsdb.py`).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import sqlalchemy as sa

#: Bump with every change of the tables: SQLite openers skip the DDL while
#: `PRAGMA user_version` matches.
SCHEMA_VERSION = 2  # 2: live_runs
METADATA = sa.MetaData()

#: Ids: INTEGER on SQLite (the rowid alias, so rows inserted without an id still get one),
#: NUMBER(19) on Oracle, BIGINT elsewhere.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Count = sa.BigInteger()  # NUMBER(19) on Oracle, which has no plain INTEGER type of its own
Name = sa.String(100)
Stamp = sa.String(40)  # ISO UTC text: sorts as time does, the same on every database


class Clipped(sa.types.TypeDecorator):
    """VARCHAR(n) whose values are cut to n UTF-8 bytes (never inside a character)."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        limit = self.impl.length
        if isinstance(value, str) and limit and len(value.encode()) > limit:
            return value.encode()[:limit].decode(errors="ignore")
        return value


def new_id() -> int:
    """A row id unique across hosts and ordered by time (see the module docstring)."""
    return time.time_ns() // 1000 * 1000 + secrets.randbelow(1000)


def _table(name: str, *columns: sa.Column) -> sa.Table:
    # AUTOINCREMENT on SQLite: ids of deleted rows are never reused (as before issue 19).
    return sa.Table(name, METADATA, *columns, sqlite_autoincrement=True)


GUARD_RUNS = _table(
    "guard_runs",
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("run_id", Name, nullable=False),  # MELTANO_RUN_ID given to the inner run
    sa.Column("pipeline", Name, nullable=False),
    sa.Column("environment", Name, nullable=False),
    sa.Column("started_at", Stamp, nullable=False),
    sa.Column("ended_at", Stamp),
    sa.Column("outcome", sa.String(20), nullable=False),  # running/success/failed/skipped
    sa.Column("exit_code", Count),
    sa.Column("reason", Clipped(2000)),  # why skipped / failed
    sa.Column("waited_seconds", sa.Float),  # time spent waiting for the lock
    sa.Column("lock_key", Clipped(400)),
    sa.Column("pid", Count),
    sa.Column("command", Clipped(4000)),
)
sa.Index("guard_runs_pipeline", GUARD_RUNS.c.pipeline, GUARD_RUNS.c.environment,
         GUARD_RUNS.c.started_at)

PAUSES = sa.Table(
    "pauses", METADATA,
    sa.Column("pipeline", Name, primary_key=True),
    sa.Column("environment", Name, primary_key=True),  # '*' = every environment
    sa.Column("paused_at", Stamp, nullable=False),
    sa.Column("until", Stamp),  # NULL = until resumed
    sa.Column("reason", Clipped(2000)),
)

ALERTS = _table(
    "alerts",
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("alert_key", sa.String(400), nullable=False),  # environment:pipeline:rule[:subject]
    sa.Column("environment", Name, nullable=False),
    sa.Column("pipeline", Name, nullable=False),
    sa.Column("rule", Name, nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),  # WARNING / CRITICAL
    sa.Column("message", Clipped(4000), nullable=False),
    sa.Column("opened_at", Stamp, nullable=False),
    sa.Column("last_seen_at", Stamp, nullable=False),
    sa.Column("closed_at", Stamp),  # NULL while open
)
sa.Index("alerts_one_open", ALERTS.c.alert_key, unique=True,
         sqlite_where=ALERTS.c.closed_at.is_(None),
         postgresql_where=ALERTS.c.closed_at.is_(None)).ddl_if(dialect=("sqlite", "postgresql"))

NOTIFICATIONS = _table(
    "notifications",
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("alert_id", Count, nullable=False),  # alerts.id
    sa.Column("event", sa.String(20), nullable=False),  # open / escalate / recovery
    sa.Column("channel", sa.String(20), nullable=False),  # log / webhook / smtp
    sa.Column("sent_at", Stamp, nullable=False),
    sa.Column("ok", Count, nullable=False),
    sa.Column("error", Clipped(2000)),
)

RECONCILIATIONS = _table(
    "reconciliations",
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("run_id", Name),
    sa.Column("pipeline", Name, nullable=False),
    sa.Column("environment", Name, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("entity", sa.String(200), nullable=False),
    sa.Column("wms_rows", Count),
    sa.Column("table_rows", Count),
    sa.Column("inserted", Count),
    sa.Column("changed", Count),
    sa.Column("deleted", Count),
    sa.Column("missing_in_table", sa.String(4000)),  # JSON list, first ids in WMS only
    sa.Column("extra_in_table", sa.String(4000)),  # JSON list, first ids live in the table only
    sa.Column("error", Clipped(2000)),
)
sa.Index("reconciliations_run", RECONCILIATIONS.c.pipeline, RECONCILIATIONS.c.environment,
         RECONCILIATIONS.c.created_at)

#: The running runs, mirrored by each guard from its local files (`progress.py`) when
#: `ops_db_url` is set, so every host's status and dashboard see them (`live_table.py`).
#: No column is named after an Oracle reserved word (ROWS, SIZE, START...).
LIVE_RUNS = sa.Table(
    "live_runs", METADATA,
    sa.Column("run_id", Name, primary_key=True),
    sa.Column("pipeline", Name, nullable=False),
    sa.Column("environment", Name, nullable=False),
    sa.Column("host", Clipped(200)),
    sa.Column("pid", Count),  # the guard's
    sa.Column("started_at", Stamp),
    sa.Column("heartbeat_at", Stamp, nullable=False),  # the guard's last write
    sa.Column("beat_seconds", sa.Float),  # the guard writes at least this often
    sa.Column("state", sa.String(20), nullable=False),  # running/finished/failed/gone
    sa.Column("progress_at", Stamp),  # the tap's last report
    sa.Column("rows_read", Count),
    sa.Column("rows_total", Count),
    sa.Column("pct_done", sa.Float),
    sa.Column("rows_per_second", sa.Float),
    sa.Column("eta_seconds", sa.Float),
    sa.Column("over_seconds", sa.Float),  # the early warning's latch: projected duration
    sa.Column("entities", sa.String(4000)),  # JSON, built to fit (never cut)
)
sa.Index("live_runs_pipeline", LIVE_RUNS.c.pipeline, LIVE_RUNS.c.environment)

#: One row per shared ops DB: every write transaction updates it first, so writers on any
#: host take turns, as SQLite's `BEGIN IMMEDIATE` makes them on one file.
WRITER = sa.Table(
    "ops_writer", METADATA,
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("turns", Count, nullable=False),
)
WRITER_ROW = "ops"
