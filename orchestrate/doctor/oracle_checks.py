"""Oracle checks, read as a DBA would: version and identifier limit, the target schema, the
privileges proven with scratch objects, MAX_STRING_SIZE, tablespace quota, the driver.

Segments are created on first insert (deferred segment creation), so a CREATE TABLE succeeds
without any quota; the scratch table therefore takes one row, committed, before it is
dropped — that insert is what meets ORA-01950 on the first real run. Every scratch name is
random, and each object is dropped even when a later step failed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Generator, Iterator

import sqlalchemy as sa

from orchestrate.doctor.dberrors import first_line, ora_code
from orchestrate.doctor.report import Check, fail, ok, warn
from orchestrate.doctor.settings import DoctorSettings

G = "warehouse"
DIRECT_PATH_DRIVER = (3, 4)


def _q(name: str) -> str:
    """A schema name as written in DDL: plain upper-case names unquoted, like the target."""
    return name if re.fullmatch(r"[A-Z][A-Z0-9_$#]*", name) else '"' + name.strip('"') + '"'


def oracle_checks(conn: sa.Connection, user: str, schema: str,
                  s: DoctorSettings) -> Iterator[Check]:
    yield _version(conn)
    exists = conn.exec_driver_sql(
        "SELECT COUNT(*) FROM ALL_USERS WHERE USERNAME = :name",
        {"name": schema.strip('"')}).scalar()
    conn.rollback()
    if not exists:
        yield fail(G, "schema", f"schema {schema} does not exist (or {user} cannot see it)",
                   f"create the user {schema}, or set the target's default_target_schema to "
                   "an existing schema")
        return
    yield ok(G, "schema", f"schema {schema} exists" + (" (the login's own)" if schema == user
                                                        else f" (login {user})"))
    loaded = yield from _privileges(conn, user, schema)
    yield _max_string_size(conn, user)
    yield from _quota(conn, user, schema, loaded)
    yield _driver(conn, s)


def _version(conn: sa.Connection) -> Check:
    info = conn.dialect.server_version_info or ()
    text = ".".join(str(x) for x in info[:2]) or "?"
    if tuple(info[:2]) >= (12, 2):
        return ok(G, "version", f"Oracle {text}: identifiers up to 128 bytes")
    return warn(G, "version", f"Oracle {text}: identifiers up to 30 bytes (before 12.2); the "
                "target shortens longer table and column names with a hash suffix")


def _privilege_fix(code: int | None, user: str, schema: str, step: str) -> str:
    own = schema == user
    if code == 1031:
        if own:
            return f"GRANT CREATE TABLE TO {user}"
        return (f"GRANT CREATE ANY TABLE, ALTER ANY TABLE, DROP ANY TABLE, CREATE ANY INDEX, "
                f"DROP ANY INDEX, INSERT ANY TABLE TO {user} (or load as {schema} itself)")
    if code == 1950:
        return f"ALTER USER {schema} QUOTA UNLIMITED ON <its default tablespace>"
    if code == 942:
        return f"{user} cannot see objects in {schema}: grant the ANY TABLE privileges above"
    if code == 1918:
        return f"create the user {schema} or fix default_target_schema"
    return f"ask the DBA why {step} fails for {user} in {schema}"


def _privileges(conn: sa.Connection, user: str, schema: str) -> Generator[Check, None, bool]:
    tag = secrets.token_hex(4).upper()
    table, gtt, index = (f"{_q(schema)}.WMS_DOCTOR_{tag}{suffix}" for suffix in ("", "_G", "_I"))
    steps = [
        ("create a table", f"CREATE TABLE {table} (ID NUMBER(19) NOT NULL, NOTE VARCHAR2(10 "
                           f"CHAR), CONSTRAINT WMS_DOCTOR_{tag}_PK PRIMARY KEY (ID))", table),
        ("insert into it (tablespace quota)", f"INSERT INTO {table} (ID, NOTE) VALUES (1, 'x')",
         None),
        ("alter it", f"ALTER TABLE {table} ADD (EXTRA NUMBER)", None),
        ("index it", f"CREATE INDEX {index} ON {table} (NOTE)", index),
        ("create a global temporary table", f"CREATE GLOBAL TEMPORARY TABLE {gtt} "
                                            "(ID NUMBER(19)) ON COMMIT DELETE ROWS", gtt),
    ]
    created: list[str] = []
    failed: Check | None = None
    for step, sql, obj in steps:
        try:
            conn.exec_driver_sql(sql)
            conn.commit()
        except sa.exc.DBAPIError as exc:
            conn.rollback()
            code = ora_code(exc)
            failed = fail(G, "privileges", f"{user} cannot {step} in {schema}: {first_line(exc)}",
                          _privilege_fix(code, user, schema, step))
            break
        if obj:
            created.append(obj)
    leftovers = _drop(conn, created)
    if failed:
        yield failed
    else:
        yield ok(G, "privileges", f"{user} created, loaded, altered, indexed and dropped a "
                 f"scratch table and a global temporary table in {schema}")
    if leftovers:
        yield fail(G, "privileges.cleanup", f"could not drop {', '.join(leftovers)}",
                   "drop them by hand (they hold nothing), and grant DROP ANY TABLE if the "
                   "schema is not the login's")
    return failed is None


def _drop(conn: sa.Connection, created: list[str]) -> list[str]:
    """Drop in reverse order (the index before its table); the names that stayed."""
    left = []
    for obj in reversed(created):
        is_index = obj.endswith("_I")
        try:
            conn.exec_driver_sql(f"DROP INDEX {obj}" if is_index else f"DROP TABLE {obj} PURGE")
            conn.commit()
        except sa.exc.DBAPIError:
            conn.rollback()
            left.append(obj)
    return left


def _max_string_size(conn: sa.Connection, user: str) -> Check:
    try:
        value = conn.exec_driver_sql(
            "SELECT VALUE FROM V$PARAMETER WHERE NAME = 'max_string_size'").scalar()
        conn.rollback()
    except sa.exc.DBAPIError as exc:
        conn.rollback()
        return warn(G, "max_string_size", f"V$PARAMETER is not readable by {user} "
                    f"({first_line(exc)}): the target assumes STANDARD (VARCHAR2 up to 4000 bytes)",
                    f"GRANT SELECT ON V_$PARAMETER TO {user}, if the database is EXTENDED")
    value = str(value or "STANDARD").upper()
    limit = "32767" if value == "EXTENDED" else "4000"
    return ok(G, "max_string_size", f"MAX_STRING_SIZE = {value}: VARCHAR2 up to {limit} bytes")


def _quota(conn: sa.Connection, user: str, schema: str, loaded: bool) -> Iterator[Check]:
    if schema != user:
        if loaded:  # else the privileges line already says what failed
            yield ok(G, "quota", f"the quota is {schema}'s (not visible to {user} without DBA "
                     "views); the scratch row above was written with it")
        return
    privs = {r[0] for r in conn.exec_driver_sql("SELECT PRIVILEGE FROM SESSION_PRIVS")}
    space = conn.exec_driver_sql("SELECT DEFAULT_TABLESPACE FROM USER_USERS").scalar()
    if "UNLIMITED TABLESPACE" in privs:
        conn.rollback()
        yield ok(G, "quota", f"{user} has UNLIMITED TABLESPACE")
        return
    row = conn.exec_driver_sql(
        "SELECT BYTES, MAX_BYTES FROM USER_TS_QUOTAS WHERE TABLESPACE_NAME = :ts",
        {"ts": space}).first()
    conn.rollback()
    if row is None or row[1] == 0:
        yield fail(G, "quota", f"{user} has no quota on its default tablespace {space}",
                   f"ALTER USER {user} QUOTA UNLIMITED ON {space}")
    elif row[1] == -1:
        yield ok(G, "quota", f"unlimited quota on {space}")
    else:
        used, cap = int(row[0] or 0) / 2**20, int(row[1]) / 2**20
        yield warn(G, "quota", f"quota on {space} is {cap:,.0f} MB ({used:,.0f} MB used): a "
                   "full sync may need more", f"ALTER USER {user} QUOTA UNLIMITED ON {space}")


def _driver(conn: sa.Connection, s: DoctorSettings) -> Check:
    version = str(getattr(conn.dialect.dbapi, "version", None) or "?")
    parts = tuple(int(x) for x in re.findall(r"\d+", version)[:2])
    direct = str(s.target.get("use_direct_path")).lower() in {"true", "1"}
    if direct and parts < DIRECT_PATH_DRIVER:
        return warn(G, "driver", f"use_direct_path is on, but python-oracledb {version} has no "
                    "direct path load: snapshots load with array INSERT",
                    "upgrade python-oracledb to 3.4 or later")
    return ok(G, "driver", f"python-oracledb {version}"
              + (" (direct path available)" if direct else ""))
