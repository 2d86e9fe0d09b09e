"""Fixtures: a throwaway project with a real Meltano-shaped system DB and a real warehouse.

The DDL of `runs` and `state` is copied from the system DB that Meltano 4.4.1 created in a fresh
`meltano init` project (alembic revision c0efb3c314eb); rows are written the way Meltano writes
them (naive UTC text timestamps, 32-hex run ids, JSON payload). LOAD_AUDIT rows follow
docs/contracts.md §3 as the target writes them.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestrate.config import OpsConfig, load_config
from orchestrate.opsdb import OpsDB

MELTANO_DDL = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version VALUES ('c0efb3c314eb');
CREATE TABLE IF NOT EXISTS "runs" (
    id INTEGER NOT NULL, job_name VARCHAR, state VARCHAR(7), started_at DATETIME,
    ended_at DATETIME, payload VARCHAR, payload_flags INTEGER, run_id CHAR(32),
    "trigger" VARCHAR, last_heartbeat_at DATETIME, PRIMARY KEY (id));
CREATE TABLE state (state_id VARCHAR(900) NOT NULL, partial_state VARCHAR,
    completed_state VARCHAR, updated_at DATETIME, PRIMARY KEY (state_id), UNIQUE (state_id));
"""

AUDIT_DDL = """
CREATE TABLE LOAD_AUDIT (
    run_id VARCHAR(64), pipeline VARCHAR(64), stream VARCHAR(128), table_name VARCHAR(128),
    load_method VARCHAR(16), event VARCHAR(16), table_version INTEGER,
    inserted INTEGER, updated INTEGER, unchanged INTEGER, deleted INTEGER, rejected INTEGER,
    started_at TIMESTAMP, finished_at TIMESTAMP)
"""

SUFFIX = {
    "full_sync": "tap-oracle-wms-full-to-target-oracle-full",
    "incremental_sync": "tap-oracle-wms-incremental-to-target-oracle-incremental",
}
PY = sys.executable


def meltano_ts(dt: datetime | None) -> str | None:
    """Meltano's SQLite text form: naive UTC with microseconds."""
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Project:
    """A tmp Meltano-like project: system DB, warehouse, ops DB, env for wms-ops."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / ".meltano").mkdir(parents=True, exist_ok=True)
        self.system_db = root / ".meltano" / "meltano.db"
        with sqlite3.connect(self.system_db) as conn:
            conn.executescript(MELTANO_DDL)
        self.warehouse_url = f"sqlite:///{root / 'output' / 'warehouse.db'}"
        (root / "output").mkdir(exist_ok=True)
        self.engine = sa.create_engine(self.warehouse_url)
        with self.engine.begin() as conn:
            conn.execute(sa.text(AUDIT_DDL))
        self.env = {
            "MELTANO_PROJECT_ROOT": str(root),
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_DATABASE_URI": f"sqlite:///{self.system_db}",
            "WMS_OPS_WAREHOUSE_URL": self.warehouse_url,
        }

    def config(self, **settings: object) -> OpsConfig:
        """Config as Meltano would export it (`WMS_OPS_<NAME>`)."""
        env = dict(self.env)
        for key, value in settings.items():
            env[f"WMS_OPS_{key.upper()}"] = (
                json.dumps(value) if isinstance(value, list | dict) else str(value))
        return load_config(env)

    def ops(self, cfg: OpsConfig) -> OpsDB:
        return OpsDB(cfg.ops_db_path)

    def add_run(self, pipeline: str, started: datetime, ended: datetime | None,
                status: str = "SUCCESS", run_id: str | None = None, env: str = "dev",
                bookmarks: dict[str, str] | None = None, error: str | None = None,
                heartbeat: datetime | None = None) -> str:
        """One `runs` row as Meltano writes it; returns the dashed run id."""
        run_id = run_id or str(uuid.uuid4())
        payload: dict = {}
        if bookmarks:
            payload["singer_state"] = {"bookmarks": {
                s: {"replication_key": "mod_ts", "replication_key_value": v}
                for s, v in bookmarks.items()}}
        if error:
            payload["error"] = error
        with sqlite3.connect(self.system_db) as conn:
            conn.execute(
                'INSERT INTO runs (job_name, state, started_at, ended_at, payload, payload_flags,'
                ' run_id, "trigger", last_heartbeat_at) VALUES (?,?,?,?,?,?,?,?,?)',
                (f"{env}:{SUFFIX[pipeline]}", status, meltano_ts(started), meltano_ts(ended),
                 json.dumps(payload), 1 if bookmarks else 0, run_id.replace("-", ""), "cli",
                 meltano_ts(heartbeat or ended or started)),
            )
            if status == "SUCCESS" and bookmarks:
                conn.execute(
                    "INSERT OR REPLACE INTO state VALUES (?,?,?,?)",
                    (f"{env}:{SUFFIX[pipeline]}", "{}", json.dumps(payload),
                     meltano_ts(ended)))
        return run_id

    def add_audit(self, run_id: str, pipeline: str, stream: str, event: str = "batch",
                  inserted: int = 0, updated: int = 0, unchanged: int = 0, deleted: int = 0,
                  rejected: int = 0, at: datetime | None = None) -> None:
        """One LOAD_AUDIT row as the target writes it."""
        at = at or datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO LOAD_AUDIT VALUES (:run_id, :pipeline, :stream, :table_name, "
                ":load_method, :event, :table_version, :inserted, :updated, :unchanged, "
                ":deleted, :rejected, :started_at, :finished_at)"), {
                "run_id": run_id, "pipeline": pipeline, "stream": stream,
                "table_name": stream.upper(),
                "load_method": "append-only" if pipeline == "full_sync" else "upsert",
                "event": event, "table_version": 1 if pipeline == "full_sync" else None,
                "inserted": inserted, "updated": updated, "unchanged": unchanged,
                "deleted": deleted, "rejected": rejected,
                "started_at": at - timedelta(seconds=5), "finished_at": at})

    def add_table(self, name: str, live_ids: list[int], deleted_ids: list[int] = ()) -> None:
        """An entity table with live and soft-deleted rows."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                f'CREATE TABLE "{name.upper()}" (id INTEGER PRIMARY KEY, '
                '"_SDC_DELETED_AT" TIMESTAMP)'))
            for i in live_ids:
                conn.execute(sa.text(f'INSERT INTO "{name.upper()}" VALUES (:i, NULL)'), {"i": i})
            for i in deleted_ids:
                conn.execute(sa.text(f'INSERT INTO "{name.upper()}" VALUES (:i, :t)'),
                             {"i": i, "t": datetime.now(UTC)})


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "proj")


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
