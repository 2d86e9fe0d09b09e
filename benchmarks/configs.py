"""Configs and environments of the measured steps, derived from the project's plugin files.

The tap-alone and target-alone steps read their defaults from `plugins/*.meltano.yml` (the base
plugin's `config`, then the full-sync variant's), so they measure the same settings the
`full_sync` job runs with — business rules, batch size, retries — and do not drift when a
colleague changes a plugin. Only what the benchmark must control is overridden here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from benchmarks.paths import BIN, ENTITIES, ROOT
from benchmarks.simulator import Simulator


def _plugins(kind: str) -> dict[str, dict[str, Any]]:
    """Every plugin of a kind (`extractors`, `loaders`) declared in `plugins/*.meltano.yml`."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "plugins").glob("*.meltano.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for plugin in (doc.get("plugins") or {}).get(kind) or []:
            out[plugin["name"]] = plugin
    return out


def plugin_config(kind: str, *names: str) -> dict[str, Any]:
    """The `config:` blocks of the named plugins in `plugins/`, merged left to right."""
    plugins = _plugins(kind)
    merged: dict[str, Any] = {}
    for name in names:
        merged.update((plugins.get(name) or {}).get("config") or {})
    return merged


def tap_config(sim: Simulator, page_size: int) -> dict[str, Any]:
    """The tap alone: a full snapshot of the three entities at `page_size` per page."""
    return {
        **plugin_config("extractors", "tap-oracle-wms"),
        "base_url": sim.base_url,
        "auth_method": "basic",
        "username": sim.username,
        "password": sim.password,
        "entities": list(ENTITIES),
        "page_size": page_size,
        "page_mode": "sequenced",
        "enable_incremental": False,
    }


def target_config(sqlite_file: Path) -> dict[str, Any]:
    """The target alone: the full-sync loader's settings, into a fresh SQLite file."""
    return {
        **plugin_config("loaders", "target-oracle", "target-oracle-full"),
        "sqlalchemy_url": f"sqlite:///{sqlite_file}",
        "load_method": "append-only",
        "pipeline_name": "benchmark",
    }


def meltano_env(sim: Simulator, warehouse: Path, workdir: Path) -> dict[str, str]:
    """`meltano run <job>` against the simulator, a fresh warehouse and private state.

    The jobs run through `wms-ops guard` (lock, pauses, then the inner `meltano run`, then
    check and reconcile). Every store they write — Meltano's system database (runs, bookmarks),
    the ops database, the lock directory — is pointed into `workdir`, so a benchmark never moves
    a real bookmark, never takes the user's lock and never reads `output/warehouse.db`.
    """
    warehouse_url = f"sqlite:///{warehouse}"
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_ORACLE_WMS_BASE_URL": sim.base_url,
        "TARGET_ORACLE_SQLALCHEMY_URL": warehouse_url,
        "WMS_OPS_WAREHOUSE_URL": warehouse_url,
        "WMS_OPS_WMS_BASE_URL": sim.base_url,
        "WMS_OPS_OPS_DB_PATH": str(workdir / "ops.db"),
        "WMS_OPS_LOCK_DIR": str(workdir / "locks"),
    }


def meltano_page_size(job_tap: str = "tap-oracle-wms-full") -> int | None:
    """Page size the job's tap runs with (reported next to the meltano rows)."""
    value = plugin_config("extractors", "tap-oracle-wms", job_tap).get("page_size")
    return int(value) if value is not None else None
