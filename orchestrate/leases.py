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

When `lock_url` is the Oracle warehouse, the table lives in the target's schema (`target_schema`)
beside the tables it guards, so every worker finds the same table whatever user it logs in as.

Run as `python -m orchestrate.leases --key K --token T --lease S --watch PID [--schema S]`, with
the URL in `WMS_OPS_LOCK_URL` (never on a command line: it may hold a password).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

import sqlalchemy as sa

from orchestrate.config import conform_schema, without_credentials
from orchestrate.dbaccess import BUSY_TIMEOUT, engine_url, retry_busy
from orchestrate.locks import wait_for_lock
from orchestrate.processes import pid_alive

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
    args = {"timeout": BUSY_TIMEOUT} if url.startswith("sqlite") else {}
    return sa.create_engine(engine_url(url), connect_args=args, poolclass=sa.pool.NullPool)


def locks_table(schema: str | None) -> sa.Table:
    """`wms_ops_locks`, in `schema` when given (every statement and the DDL then name it)."""
    return LOCKS if schema is None else LOCKS.to_metadata(sa.MetaData(), schema=schema)


def _same_database(a: str, b: str) -> bool:
    """Both URLs reach one database (whoever logs in)."""
    def where(url: str) -> str:
        u = sa.engine.make_url(url)
        return str(sa.engine.URL.create(u.get_backend_name(), host=u.host, port=u.port,
                                        database=u.database, query=u.query))

    try:
        return where(a) == where(b)
    except Exception:  # unparsable: the lease then says so itself
        return False


def lease_schema(lock_url: str | None, warehouse_url: str | None,
                 target_schema: str | None) -> str | None:
    """The schema of `wms_ops_locks`: the target's, when the lock database is the Oracle
    warehouse and the target loads into a schema of its own; else the login's (None).
    Lower case when plain, so SQLAlchemy writes it unquoted, as the target does."""
    if not (lock_url and warehouse_url and target_schema) or \
            not lock_url.startswith("oracle") or not _same_database(lock_url, warehouse_url):
        return None
    name = conform_schema(target_schema)
    return name.lower() if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) else name


class LeaseLock:
    """One named lease; `token` identifies our row, so we never renew or free someone else's."""

    def __init__(self, url: str, key: str, lease_seconds: float, token: str | None = None,
                 schema: str | None = None) -> None:
        self.schema = schema
        self.table = locks_table(schema)
        self.engine = _engine(url)
        self.key = key[:200]
        self.lease_seconds = lease_seconds
        self.token = token or secrets.token_hex(16)
        self._table_ready = False

    def _ensure_table(self) -> None:
        if self._table_ready:
            return

        def create() -> None:
            try:
                self.table.create(self.engine, checkfirst=True)
            except sa.exc.DatabaseError:  # created by another run at the same moment
                if not sa.inspect(self.engine).has_table(LOCKS.name, schema=self.schema):
                    raise

        retry_busy(create, f"lock database (creating {LOCKS.name})")
        self._table_ready = True

    # The statements, one method each (tests compile them for Oracle). --------------------
    def select_row(self) -> sa.Select:
        return sa.select(self.table).where(self.table.c.lock_key == self.key)

    def insert_row(self, holder: dict, now: float) -> sa.Insert:
        return sa.insert(self.table).values(
            lock_key=self.key, token=self.token, holder=json.dumps(holder)[:2000],
            expires_at=now + self.lease_seconds)

    def delete_expired(self, token: str, expires_at: float) -> sa.Delete:
        """Compare-and-delete: only the very row we saw expire."""
        t = self.table
        return sa.delete(t).where(t.c.lock_key == self.key, t.c.token == token,
                                  t.c.expires_at == expires_at)

    def extend_own(self, now: float) -> sa.Update:
        t = self.table
        return sa.update(t).where(t.c.lock_key == self.key, t.c.token == self.token) \
            .values(expires_at=now + self.lease_seconds)

    def delete_own(self) -> sa.Delete:
        t = self.table
        return sa.delete(t).where(t.c.lock_key == self.key, t.c.token == self.token)

    def _row(self) -> sa.Row | None:
        with self.engine.connect() as conn:
            return conn.execute(self.select_row()).first()

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
                    conn.execute(self.insert_row(holder, now))
                return True
            except sa.exc.IntegrityError:
                pass
            row = self._row()
            if row is None:
                continue  # freed meanwhile: try again at once
            if row.expires_at >= now:
                return False
            with self.engine.begin() as conn:
                taken = conn.execute(self.delete_expired(row.token, row.expires_at)).rowcount
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
            return conn.execute(self.extend_own(time.time())).rowcount == 1

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.delete_own())
        self.engine.dispose()


def keep(lease: LeaseLock, watch_pid: int, poll: float = 0.5) -> int:
    """Renew every quarter lease while `watch_pid` lives; then free the lease. SIGTERM (the
    guard, which frees the lease itself after its post-run steps) stops without freeing."""
    stop = {"now": False}

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    next_renewal = 0.0
    while not stop["now"]:
        if not pid_alive(watch_pid):
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
    schema = ["--schema", lease.schema] if lease.schema else []
    try:
        keeper = subprocess.Popen(
            [sys.executable, "-m", "orchestrate.leases", "--key", lease.key, "--token",
             lease.token, "--lease", str(lease.lease_seconds), "--watch", str(pid), *schema],
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
    p.add_argument("--schema")
    args = p.parse_args(argv)
    url = os.environ.get(URL_ENV)
    if not url:
        print(f"{URL_ENV} is not set", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return keep(LeaseLock(url, args.key, args.lease, token=args.token, schema=args.schema),
                args.watch)


if __name__ == "__main__":
    sys.exit(main())
