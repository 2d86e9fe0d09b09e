"""Start the incremental pipeline where the last full snapshot ended, not from the beginning.

Meltano keeps one state per pipeline (`<env>:<tap>-to-<target>`), so after the first full sync the
incremental pipeline has no bookmark and would re-read every record. A finished full snapshot
leaves, per stream, its newest `mod_ts` capped at the snapshot's start (the tap writes it); this
module copies that value into the incremental state for the streams that have no bookmark yet.
A stream that already has one keeps it: it is at least as far along, and moving it back would
only re-read rows. State is read through SQL from Meltano's system database (milliseconds) and,
when it is not there (another state backend), with `meltano state get`; it is written with one
`meltano state merge`, only when there is something to seed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
from typing import Any

from orchestrate.config import OpsConfig
from orchestrate.meltano_runs import read_state

log = logging.getLogger("wms_ops.bookmarks")


def _state(cfg: OpsConfig, meltano: str, state_id: str, env: dict[str, str]) -> dict[str, Any]:
    if os.environ.get("MELTANO_STATE_BACKEND_URI", "systemdb") == "systemdb":
        with contextlib.suppress(Exception):  # unreadable: ask Meltano below
            return read_state(cfg.system_db_url, state_id)
    out = subprocess.run(
        [meltano, "state", "get", state_id], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return (json.loads(out) if out else {}).get("singer_state") or {}


def seeds_for(full_state: dict[str, Any], incremental_state: dict[str, Any]) -> dict[str, Any]:
    """The bookmarks to add to the incremental state: streams it lacks, valued by the full one."""
    have = incremental_state.get("bookmarks") or {}
    seeds: dict[str, Any] = {}
    for stream, bookmark in (full_state.get("bookmarks") or {}).items():
        value = (bookmark or {}).get("replication_key_value")
        if value and not (have.get(stream) or {}).get("replication_key_value"):
            seeds[stream] = {
                "replication_key": bookmark.get("replication_key", "mod_ts"),
                "replication_key_value": value,
            }
    return seeds


def seed_incremental(cfg: OpsConfig, meltano: str, env: dict[str, str]) -> dict[str, Any]:
    """Copy the full snapshot's bookmarks into the incremental state where it has none."""
    full = next((p for p in cfg.pipelines.values() if p.kind == "full"), None)
    incremental = next((p for p in cfg.pipelines.values() if p.kind == "incremental"), None)
    if not full or not incremental:
        return {}
    seeds = seeds_for(
        _state(cfg, meltano, full.state_id(cfg.environment), env),
        _state(cfg, meltano, incremental.state_id(cfg.environment), env),
    )
    if seeds:
        subprocess.run(
            [meltano, "state", "merge", incremental.state_id(cfg.environment),
             json.dumps({"singer_state": {"bookmarks": seeds}})],
            env=env, capture_output=True, text=True, check=True,
        )
        log.info("incremental bookmarks seeded from the full snapshot: %s",
                 ", ".join(f"{s}={b['replication_key_value']}" for s, b in sorted(seeds.items())))
    return seeds
