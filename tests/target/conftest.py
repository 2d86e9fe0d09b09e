"""Helpers: run the target in-process on a real SQLite file and read tables back.

The ``wh`` fixture runs each behavioural test twice: ``sqlite`` (the embedded backend) and
``oracle-mode`` (the target's Oracle code path through python-oracledb's contract and an
Oracle emulator over SQLite, :mod:`tests.oracle_mode`). Modules listed in
``BOTH_BACKENDS`` get both; a test marked ``sqlite_only`` (what it checks is SQLite
storage) or any other module gets ``sqlite``; ``@pytest.mark.backends(...)`` picks
explicitly. ``oracle_xfail(defect, why)`` marks the oracle-mode run of a test as an
expected failure (strict) while the named defect of issue 11 is open.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from target_oracle.target import TargetOracle
from tests import oracle_mode
from tests.oracle_mode.catalog import fetch_text

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


BOTH_BACKENDS = {"test_upsert", "test_snapshot", "test_schema_evolution", "test_quarantine",
                 "test_oracle_defects_rejects", "test_oracle_defects_names",
                 "test_oracle_defects_keys"}
#: Tests of those modules whose assertions are about SQLite storage (exact decimal text,
#: lower-case names, '' as a value): kept off oracle-mode here, without editing their files.
SQLITE_STORAGE = {"test_decimal_key_rejected_in_snapshot_stays_live",
                  "test_empty_string_key_loads_where_it_is_a_value",
                  "test_a_snapshot_table_left_without_its_index_gets_it_on_the_next_run"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wh" not in metafunc.fixturenames:
        return
    chosen = metafunc.definition.get_closest_marker("backends")
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if chosen is not None:
        names = list(chosen.args)
    elif (module in BOTH_BACKENDS and metafunc.function.__name__ not in SQLITE_STORAGE
          and not metafunc.definition.get_closest_marker("sqlite_only")):
        names = ["sqlite", "oracle-mode"]
    else:
        names = ["sqlite"]
    xfail = metafunc.definition.get_closest_marker("oracle_xfail")
    params = []
    for name in names:
        marks = []
        if name == "oracle-mode" and xfail is not None:
            defect, why = xfail.args
            marks.append(pytest.mark.xfail(strict=True, reason=f"issue 11 defect {defect}: {why}"))
        params.append(pytest.param(name, marks=marks, id=name))
    metafunc.parametrize("backend", params)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): backends the wh fixture runs on")
    config.addinivalue_line("markers", "sqlite_only: checks SQLite storage; no oracle-mode run")
    config.addinivalue_line("markers", "oracle_xfail(defect, why): oracle-mode run fails "
                                       "until that defect of issue 11 is fixed")


class Warehouse:
    """A SQLite file plus a way to run the target against it."""

    backend = "sqlite"

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


class OracleModeWarehouse(Warehouse):
    """The same warehouse, reached through the target's Oracle path and the emulator.

    Tables and columns are Oracle's upper-case names (SQLite matches them case-blind);
    date-times read back as the tap's text, as on the SQLite backend.
    """

    backend = "oracle-mode"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.server = oracle_mode.server(str(path))
        self.url = oracle_mode.oracle_url(str(path))

    def query(self, sql: str, *params: Any) -> list[tuple]:
        return [tuple(fetch_text(v) for v in row) for row in super().query(sql, *params)]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def wh(tmp_path: Path, backend: str) -> Any:
    if backend == "sqlite":
        yield Warehouse(tmp_path / "wh.db")
        return
    warehouse = OracleModeWarehouse(tmp_path / "wh.db")
    yield warehouse
    # A violation the target caught and went on from is still a test failure.
    assert not warehouse.server.violations, warehouse.server.violations
