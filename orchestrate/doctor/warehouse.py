"""Warehouse checks: reach the target's database with the target's own login, then prove —
by doing it once with a scratch object — that the run can create, alter, load and drop what
it needs in the target schema.

The engine is built from the target's settings the way the target builds it (sqlalchemy_url,
else dsn or host/port/service_name, with username/password as connect arguments), without
importing the target. Only the host, port, service, file path and user name are ever shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from orchestrate.config import without_credentials
from orchestrate.doctor.dberrors import first_line, ora_code
from orchestrate.doctor.oracle_checks import oracle_checks
from orchestrate.doctor.report import Check, fail, ok
from orchestrate.doctor.settings import DoctorSettings

G = "warehouse"


@dataclass
class Target:
    """The target's database as the doctor reaches it."""

    engine: sa.Engine
    where: str  # host:port/service or the SQLite file, never a password
    user: str | None
    schema: str | None  # the target schema as the target names it (Oracle: upper case)

    @property
    def oracle(self) -> bool:
        return self.engine.dialect.name == "oracle"


def _connect_args(cfg: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if cfg.get("username"):
        args["user"] = cfg["username"]
    if cfg.get("password"):
        args["password"] = cfg["password"]
    if cfg.get("dsn"):
        args["dsn"] = cfg["dsn"]
    elif cfg.get("host"):
        args["dsn"] = (f"{cfg.get('protocol') or 'tcp'}://{cfg['host']}:"
                       f"{cfg.get('port') or 1521}/{cfg.get('service_name') or ''}")
    if cfg.get("wallet_location"):
        args["wallet_location"] = args["config_dir"] = cfg["wallet_location"]
    if cfg.get("wallet_password"):
        args["wallet_password"] = cfg["wallet_password"]
    return args


def target(cfg: dict[str, Any]) -> Target | Check:
    """The engine, or a failure saying which setting is missing or unusable."""
    raw = str(cfg.get("sqlalchemy_url") or "")
    if not raw and not (cfg.get("dsn") or cfg.get("host")):
        return fail(G, "connection", "the target has no database configured",
                    "set the target's sqlalchemy_url, or dsn (or host + service_name) with "
                    "username/password")
    try:
        url = sa.engine.make_url(raw or "oracle+oracledb://")
    except sa.exc.ArgumentError:
        return fail(G, "connection", "the target's sqlalchemy_url cannot be parsed",
                    "write it as oracle+oracledb://user:password@host:1521/?service_name=S "
                    "or sqlite:///path")
    schema = cfg.get("default_target_schema") or None
    if url.drivername.startswith("sqlite"):
        path = url.database or ":memory:"
        return Target(sa.create_engine(url, poolclass=sa.pool.NullPool), f"SQLite file {path}",
                      None, None)
    if not url.drivername.startswith("oracle"):
        return fail(G, "connection", f"unsupported database {url.drivername!r}",
                    "use oracle+oracledb:// or sqlite:///")
    args = _connect_args(cfg)
    user = args.get("user") or url.username
    if "dsn" in args:
        where = str(args["dsn"])
    else:
        service = url.query.get("service_name") or url.database or ""
        where = (f"{url.host}:{url.port or 1521}/{service}" if url.host
                 else "the database of sqlalchemy_url")
    engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    return Target(engine, without_credentials(where), user,
                  str(schema).upper() if schema and not str(schema).startswith('"') else schema)


def checks(s: DoctorSettings) -> Iterator[Check]:
    t = target(s.target)
    if isinstance(t, Check):
        yield t
        return
    if not t.oracle:
        missing = _sqlite_not_yet_made(t.engine.url.database)
        if missing:
            t.engine.dispose()
            yield from missing
            return
    try:
        with t.engine.connect() as conn:
            if t.oracle:
                # python-oracledb names the login (a wallet or external login has no
                # username setting).
                login = getattr(conn.connection.dbapi_connection, "username", None)
                t.user = str(t.user or login or "?").upper()
                yield ok(G, "connection", f"Oracle at {t.where} as {t.user}")
                yield from oracle_checks(conn, t.user, t.schema or t.user, s)
            else:
                version = conn.exec_driver_sql("SELECT sqlite_version()").scalar()
                yield ok(G, "connection", f"{t.where} (SQLite {version}: the embedded dev/test "
                                          "warehouse, the Oracle checks do not apply)")
                yield from _sqlite_scratch(conn)
    except sa.exc.DBAPIError as exc:
        if not t.oracle:
            fix = "make the SQLite file and its folder readable and writable by this user"
        elif ora_code(exc) == 1017 or "DPY-4" in first_line(exc):
            fix = "check the target's username and password (ORACLE_USER / ORACLE_PASSWORD)"
        else:
            fix = ("check the target's dsn / host, port and service_name, and that this host "
                   "reaches the listener (firewall, VPN)")
        yield fail(G, "connection", f"cannot connect to {t.where}"
                   f"{' as ' + t.user if t.user else ''}: {first_line(exc)}", fix)
    finally:
        t.engine.dispose()


def _sqlite_not_yet_made(database: str | None) -> list[Check]:
    """A fresh project has no warehouse file yet and the target creates it (and its folder)
    on the first run; connecting here would create it as a side effect, so the doctor only
    proves the nearest existing folder is writable. Empty: the file exists, check it."""
    import os
    from pathlib import Path

    if not database or database == ":memory:":
        return []
    path = Path(database).expanduser()
    if path.exists():
        return []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
        return [ok(G, "connection", f"SQLite file {path} does not exist yet: the first run "
                                    "creates it"),
                ok(G, "privileges", f"{folder} is writable: the target can create the file "
                                    "and its tables")]
    return [fail(G, "connection", f"SQLite file {path} does not exist and {folder} is not a "
                                 "writable folder", "make the warehouse file's folder writable "
                                 "by this user, or point the target's sqlalchemy_url elsewhere")]


def _sqlite_scratch(conn: sa.Connection) -> Iterator[Check]:
    import secrets

    name = f"wms_doctor_{secrets.token_hex(4)}"
    conn.commit()  # the version query's implicit transaction
    try:
        with conn.begin():
            conn.exec_driver_sql(f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, note TEXT)')
            conn.exec_driver_sql(f'INSERT INTO "{name}" (id, note) VALUES (1, \'x\')')
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
    except sa.exc.DBAPIError as exc:
        yield fail(G, "privileges", f"cannot create and drop a table: {first_line(exc)}",
                   "make the SQLite file and its folder writable by this user")
        return
    yield ok(G, "privileges", "created, loaded and dropped a scratch table")


