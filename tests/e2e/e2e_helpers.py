"""Helpers of the end-to-end tests: the project as a user drives it, and WMS's truth."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENTITIES = ("allocation", "order_hdr", "order_dtl")


@dataclass
class Project:
    """The Meltano project, pointed at one simulator and one warehouse file."""

    env: dict[str, str]
    warehouse: Path
    logs: list[str] = field(default_factory=list)

    def meltano(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.logs.append(result.stdout + result.stderr)
        if check and result.returncode != 0:
            raise AssertionError(
                f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stderr[-6000:]}"
            )
        return result

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.warehouse) as db:
            return db.execute(sql, params).fetchall()

    def live_rows(self, entity: str) -> dict[int, str]:
        """id -> mod_ts of the rows not soft-deleted."""
        return dict(
            self.query(f"SELECT id, mod_ts FROM WMS_{entity.upper()} WHERE _sdc_deleted_at IS NULL")
        )


def utc_text(value: str) -> str:
    """The tap's UTC form of an API timestamp, to compare the warehouse with WMS."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="microseconds")


def wms_truth(sim, entity: str) -> dict[int, str]:
    """id -> mod_ts (UTC) of every record WMS holds now."""
    return {rec["id"]: utc_text(rec["mod_ts"]) for rec in sim.truth(entity)}
