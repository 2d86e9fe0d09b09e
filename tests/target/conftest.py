"""Helpers: run the target in-process on a real SQLite file and read tables back."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from target_oracle.target import TargetOracle

V1 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
V2 = 1_800_000_000_000  # 2027-01-15T08:00:00Z


def ts(day: int, hour: int = 0) -> str:
    """A tap-format date-time in 2024-01."""
    return f"2024-01-{day:02d}T{hour:02d}:00:00.000000+00:00"


SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": ["string", "null"], "maxLength": 20},
        "qty": {"type": ["number", "null"]},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "create_ts": {"type": ["string", "null"], "format": "date-time"},
    },
}


def schema_msg(stream: str = "order_hdr", schema: dict | None = None) -> dict:
    return {"type": "SCHEMA", "stream": stream, "key_properties": ["id"],
            "bookmark_properties": ["mod_ts"], "schema": schema or SCHEMA}


def rec(id_: int, mod: str, stream: str = "order_hdr", version: int | None = None,
        **extra: Any) -> dict:
    msg: dict[str, Any] = {"type": "RECORD", "stream": stream,
                           "record": {"id": id_, "mod_ts": mod, **extra}}
    if version is not None:
        msg["version"] = version
    return msg


def marker(version: int, stream: str = "order_hdr") -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def state(value: Any) -> dict:
    return {"type": "STATE", "value": {"bookmarks": {"order_hdr": {"p": value}}}}


class Warehouse:
    """A SQLite file plus a way to run the target against it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def config(self, **extra: Any) -> dict:
        return {"sqlalchemy_url": self.url, "table_prefix": "WMS_", **extra}

    def run(self, messages: list[dict | str], **config: Any) -> list[dict]:
        """Run one target over ``messages`` (dicts or raw JSON lines); return its STATEs."""
        target = TargetOracle(config=self.config(**config))
        text = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            target.listen(io.StringIO(text))
        return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]

    def query(self, sql: str, *params: Any) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(sql, params).fetchall()

    def live(self, table: str = "wms_order_hdr") -> dict[int, tuple]:
        rows = self.query(f"SELECT id, mod_ts, code, qty, _sdc_deleted_at FROM {table}")
        return {r[0]: r[1:] for r in rows}

    def audit(self) -> list[tuple]:
        return self.query(
            "SELECT event, load_method, table_version, inserted, updated, unchanged, "
            "deleted, rejected FROM wms_load_audit ORDER BY rowid")


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "wh.db")
