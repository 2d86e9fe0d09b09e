"""The small SQLite database that holds what only ops knows.

Meltano's system DB knows runs and the warehouse knows rows, but nobody else knows which alerts
are open (so each is sent once), which runs the guard skipped, what is paused, and the
reconciliation reports. Several guards and checks may touch it at once, hence WAL mode, a busy
timeout and `BEGIN IMMEDIATE` around read-modify-write steps.

Opening is the delicate part: two guards start in the same second every Sunday at 00:00, often
on a file that does not exist yet. The busy timeout is set by `connect` itself, before the
first statement; the switch to WAL is skipped when another opener already made it and retried
when SQLite refuses it without waiting (two switches at once would deadlock, so one of them
gets "database is locked" at once); the schema is created in one `BEGIN IMMEDIATE`
transaction, idempotent, and skipped once `user_version` says it is there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrate.dbaccess import BUSY_TIMEOUT, retry_busy

#: Bump with every change of SCHEMA: openers skip the DDL while `PRAGMA user_version` matches.
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS guard_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,            -- MELTANO_RUN_ID given to the inner `meltano run`
    pipeline TEXT NOT NULL,
    environment TEXT NOT NULL,
    started_at TEXT NOT NULL,        -- ISO UTC
    ended_at TEXT,
    outcome TEXT NOT NULL,           -- running / success / failed / skipped
    exit_code INTEGER,
    reason TEXT,                     -- why skipped / failed
    waited_seconds REAL,             -- time spent waiting for the lock
    lock_key TEXT,
    pid INTEGER,
    command TEXT
);
CREATE INDEX IF NOT EXISTS guard_runs_pipeline ON guard_runs (pipeline, environment, started_at);
CREATE TABLE IF NOT EXISTS pauses (
    pipeline TEXT NOT NULL,
    environment TEXT NOT NULL,       -- '*' = every environment
    paused_at TEXT NOT NULL,
    until TEXT,                      -- NULL = until resumed
    reason TEXT,
    PRIMARY KEY (pipeline, environment)
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_key TEXT NOT NULL,         -- environment:pipeline:rule[:subject]
    environment TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,          -- WARNING / CRITICAL
    message TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    closed_at TEXT                   -- NULL while open
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (alert_key) WHERE closed_at IS NULL;
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    event TEXT NOT NULL,             -- open / escalate / recovery
    channel TEXT NOT NULL,           -- log / webhook / smtp
    sent_at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS reconciliations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    pipeline TEXT NOT NULL,
    environment TEXT NOT NULL,
    created_at TEXT NOT NULL,
    entity TEXT NOT NULL,
    wms_rows INTEGER,
    table_rows INTEGER,
    inserted INTEGER,
    changed INTEGER,
    deleted INTEGER,
    missing_in_table TEXT,           -- JSON list, first N ids in WMS but not live in the table
    extra_in_table TEXT,             -- JSON list, first N ids live in the table but not in WMS
    error TEXT
);
CREATE INDEX IF NOT EXISTS reconciliations_run
    ON reconciliations (pipeline, environment, created_at);
"""


class OpsDB:
    """Thin wrapper: one connection per command, schema created on first use."""

    def __init__(self, path: Path, timeout: float = BUSY_TIMEOUT) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # `timeout` installs SQLite's busy handler inside connect(), before any statement.
        self.conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        try:
            retry_busy(self._use_wal, f"ops DB {path} (switching to WAL)", timeout)
            retry_busy(self._create_schema, f"ops DB {path} (creating its tables)", timeout)
        except BaseException:
            self.conn.close()
            raise

    def _use_wal(self) -> None:
        """WAL lets checks read while a guard writes. Reading the mode first makes every opener
        after the first a pure reader; a filesystem without WAL support keeps its mode."""
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL").fetchone()

    def _create_schema(self) -> None:
        """All tables in one write transaction, or none (a retry starts over cleanly)."""
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        try:
            self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that other processes wait for (no lost updates)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Read rows."""
        return self.conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        """Write one statement in autocommit mode; returns lastrowid."""
        cur = self.conn.execute(sql, params)
        return int(cur.lastrowid or 0)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
