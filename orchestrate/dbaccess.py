"""How wms-ops opens the databases it shares with other processes.

Every database ops touches has other users at the same moment: a second guard (`@weekly` and
`0 */2 * * *` both fire at 00:00 on Sundays), the inner `meltano run` writing its heartbeat into
the system DB every second, the target writing the warehouse. SQLite's busy timeout covers most
contention, but not all of it: when waiting could deadlock (two connections holding a read
lock, both wanting to write: two `PRAGMA journal_mode=WAL` on a fresh file, or a read that
turns into a write in WAL mode on a stale snapshot) SQLite returns SQLITE_BUSY at once, without
calling the busy handler. Those steps must be retried by us; `retry_busy` does that, with
jitter so that two starters that collided do not collide again in lock step.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # SQLAlchemy is imported where an engine is made: `pause` never needs it
    import sqlalchemy as sa

#: Seconds a statement waits for another process's lock (SQLite's busy timeout), and how long
#: `retry_busy` keeps retrying what SQLite refuses without waiting.
BUSY_TIMEOUT = 30.0
T = TypeVar("T")


class DatabaseBusy(RuntimeError):
    """A database stayed locked by another process for longer than we wait."""


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" family (SQLITE_BUSY*, SQLITE_LOCKED*), raw or
    wrapped by SQLAlchemy: contention, not a broken database."""
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    name = getattr(orig, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


def retry_busy(step: Callable[[], T], what: str, timeout: float = BUSY_TIMEOUT) -> T:
    """Run `step` until it is not refused as busy, for up to `timeout` seconds; then fail
    naming `what` and the likely cause (another process holding the database)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return step()
        except Exception as exc:  # sqlite3's or SQLAlchemy's wrapper of it
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"wms-ops: {what} stayed locked for {timeout:.0f}s ({exc}); another process "
                    "holds it (a stuck wms-ops or meltano?): find it with `fuser <file>` and "
                    "retry") from exc
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.2)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or \
            parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database).expanduser()


def engine_url(url: str) -> str:
    """`url` with the driver wms-ops installs when it names none: `postgresql://` is
    `postgresql+psycopg://` (psycopg 3, installed with the plugins; SQLAlchemy would otherwise
    look for psycopg2, which nothing installs)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if sep and scheme in ("postgresql", "postgres") else url


def reader_engine(url: str) -> sa.Engine | None:
    """An engine for a database ops only reads (system DB, warehouse); None when it is a
    SQLite file nobody has created yet (reading must not create it: an empty file in
    Meltano's place would be taken for its system DB). SQLite waits `BUSY_TIMEOUT` for a
    writer instead of the driver's 5 s: Meltano switches a fresh system DB to WAL and migrates
    it while ops may read."""
    import sqlalchemy as sa

    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    if sa.engine.make_url(url).drivername.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT},
                                poolclass=sa.pool.NullPool)
    return sa.create_engine(engine_url(url))
