"""A lock that holds across machines: a lease row in a database every worker reaches.

The `flock` of `locks.py` is exact but local: full and incremental syncs started by Airflow
workers on two hosts would both get "their" lock and load one schema at once. With `lock_url`
set (any SQLAlchemy URL all workers share: the Oracle warehouse, Meltano's Postgres system DB),
the guard also takes a lease: a row `wms_ops_locks(lock_key)` that only one run can insert.

A lease must not outlive its holder, nor expire under a live one. So it carries an expiry
(`lock_lease_seconds`, host clocks, which must agree to well within it — NTP) that a *keeper*
process renews while the inner run lives. The keeper is its own process, like the inner run
(own session), so a guard killed by SIGKILL still leaves the lease held for as long as the run
it started goes on; when that run ends, the keeper deletes the row. When keeper and run are
both gone without a word (host lost), the lease simply expires and the next run takes it over,
saying whose it was.

Run as `python -m orchestrate.leases --key K --token T --lease S --watch PID`, with the URL
in `WMS_OPS_LOCK_URL` (never on a command line: it may hold a password).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

import sqlalchemy as sa

from orchestrate.config import without_credentials
from orchestrate.locks import wait_for_lock

log = logging.getLogger("wms_ops.lease")

METADATA = sa.MetaData()
LOCKS = sa.Table(
    "wms_ops_locks", METADATA,
    sa.Column("lock_key", sa.String(200), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("holder", sa.String(2000)),
    sa.Column("expires_at", sa.Float, nullable=False),  # epoch seconds
)
URL_ENV = "WMS_OPS_LOCK_URL"


def _engine(url: str) -> sa.Engine:
    args = {"timeout": 30} if url.startswith("sqlite") else {}
    return sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)


class LeaseLock:
    """One named lease; `token` identifies our row, so we never renew or free someone else's."""

    def __init__(self, url: str, key: str, lease_seconds: float, token: str | None = None) -> None:
        self.engine = _engine(url)
        self.key = key[:200]
        self.lease_seconds = lease_seconds
        self.token = token or secrets.token_hex(16)
        self._table_ready = False

    def _ensure_table(self) -> None:
        if self._table_ready:
            return
        try:
            METADATA.create_all(self.engine, checkfirst=True)
        except sa.exc.DatabaseError:  # created by another run at the same moment
            if not sa.inspect(self.engine).has_table(LOCKS.name):
                raise
        self._table_ready = True

    def _row(self) -> sa.Row | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(LOCKS).where(LOCKS.c.lock_key == self.key)).first()

    def holder(self) -> dict:
        """Who holds the lease (for messages); {} when nobody or unreadable."""
        row = self._row()
        try:
            return json.loads(row.holder or "{}") if row else {}
        except ValueError:
            return {}

    def try_acquire(self, holder: dict) -> bool:
        """Insert our row; or take over an expired one (compare-and-delete), then insert."""
        self._ensure_table()
        for _ in range(2):
            now = time.time()
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(LOCKS).values(
                        lock_key=self.key, token=self.token, holder=json.dumps(holder)[:2000],
                        expires_at=now + self.lease_seconds))
                return True
            except sa.exc.IntegrityError:
                pass
            row = self._row()
            if row is None:
                continue  # freed meanwhile: try again at once
            if row.expires_at >= now:
                return False
            with self.engine.begin() as conn:
                taken = conn.execute(sa.delete(LOCKS).where(
                    LOCKS.c.lock_key == self.key, LOCKS.c.token == row.token,
                    LOCKS.c.expires_at == row.expires_at)).rowcount
            if taken:
                log.warning("lock %s: lease of %s expired %.0f s ago (its run and keeper are "
                            "gone); taking it over", self.key, row.holder, now - row.expires_at)
        return False

    def acquire(self, wait_seconds: float, holder: dict, poll: float = 1.0,
                on_wait: Callable[[dict], None] | None = None) -> bool:
        """Wait up to `wait_seconds`; False when another live run kept it."""
        return wait_for_lock(lambda: self.try_acquire(holder), self.holder, wait_seconds, poll,
                             on_wait)

    def renew(self) -> bool:
        """Push our expiry out by a lease; False when the row is no longer ours."""
        with self.engine.begin() as conn:
            return conn.execute(sa.update(LOCKS).where(
                LOCKS.c.lock_key == self.key, LOCKS.c.token == self.token,
            ).values(expires_at=time.time() + self.lease_seconds)).rowcount == 1

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(LOCKS).where(LOCKS.c.lock_key == self.key,
                                                LOCKS.c.token == self.token))
        self.engine.dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def keep(lease: LeaseLock, watch_pid: int, poll: float = 0.5) -> int:
    """Renew every quarter lease while `watch_pid` lives; then free the lease. SIGTERM (the
    guard, which frees the lease itself after its post-run steps) stops without freeing."""
    stop = {"now": False}

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    next_renewal = 0.0
    while not stop["now"]:
        if not _alive(watch_pid):
            lease.release()
            return 0
        if time.monotonic() >= next_renewal:
            try:
                if not lease.renew():
                    log.error("lock %s: our lease was taken over; run %s is no longer "
                              "protected", lease.key, watch_pid)
                    return 1
            except sa.exc.SQLAlchemyError as exc:  # transient: retry before the lease runs out
                log.warning("lock %s: renewing the lease failed: %s", lease.key, exc)
            next_renewal = time.monotonic() + lease.lease_seconds / 4
        time.sleep(poll)
    return 0


def start_keeper(url: str, lease: LeaseLock, pid: int) -> Callable[[], None]:
    """Start the keeper of `lease` for the run `pid`; returns how to stop it (the guard frees
    the lease itself after its post-run steps). A keeper that cannot start is logged: the run
    is already going, and its lease then expires after `lease_seconds`."""
    try:
        keeper = subprocess.Popen(
            [sys.executable, "-m", "orchestrate.leases", "--key", lease.key, "--token",
             lease.token, "--lease", str(lease.lease_seconds), "--watch", str(pid)],
            env={**os.environ, URL_ENV: url}, start_new_session=True)
    except OSError as exc:
        log.error("lock %s: the lease keeper did not start (%s); the lease expires in %.0f s "
                  "while this run goes on", lease.key, exc, lease.lease_seconds)
        return lambda: None

    def stop() -> None:
        keeper.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            keeper.wait(timeout=10)

    return stop


def error_text(exc: BaseException, url: str) -> str:
    """First line of a lock-database error, safe to log and store: credentials in any URL it
    quotes are dropped, and the password of `url` is blanked wherever else it appears."""
    text = without_credentials(
        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    try:
        password = sa.engine.make_url(url).password
    except Exception:  # unparsable: dropping user:password@ is all we can do
        return text
    return text.replace(str(password), "***") if password else text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m orchestrate.leases")
    p.add_argument("--key", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--lease", type=float, required=True)
    p.add_argument("--watch", type=int, required=True)
    args = p.parse_args(argv)
    url = os.environ.get(URL_ENV)
    if not url:
        print(f"{URL_ENV} is not set", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return keep(LeaseLock(url, args.key, args.lease, token=args.token), args.watch)


if __name__ == "__main__":
    sys.exit(main())
