"""The small SQLite database that holds what only ops knows.

Meltano's system DB knows runs and the warehouse knows rows, but nobody else knows which alerts
are open (so each is sent once), which runs the guard skipped, what is paused, and the
reconciliation reports. Several guards and checks may touch it at once, hence WAL mode, a busy
timeout and `BEGIN IMMEDIATE` around read-modify-write steps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(SCHEMA)

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
