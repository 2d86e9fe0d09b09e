"""System privileges and tablespace quota, for tests that give the login fewer than a DBA.

A server made with ``privileges=None`` (the default) grants everything, as before: the
target's tests load as a schema owner who may do all it needs. A server with a tuple of
privileges enforces them as Oracle does:

- DDL in the login's own schema needs ``CREATE TABLE`` (a table, a GTT); an index on its own
  table needs nothing more. In another schema each verb needs its ``… ANY …`` privilege.
- A permanent table's first row needs space: the table's owner needs ``UNLIMITED
  TABLESPACE`` or a quota on its default tablespace (``quotas``), else ORA-01950 — at the
  INSERT, not at CREATE TABLE (deferred segment creation). Global temporary tables use the
  temporary tablespace and need no quota.
- ``catalog_views=False``: ``V$PARAMETER`` is not visible (no SELECT_CATALOG_ROLE): ORA-00942.

Statements whose table the emulator cannot tell raise :class:`EmulatorGap` while enforcing.
"""

from __future__ import annotations

import re
import typing as t

from tests.oracle_mode.contract import oracle_error
from tests.oracle_mode.translate import _REF, EmulatorGap

if t.TYPE_CHECKING:
    from tests.oracle_mode.dbapi import Connection
    from tests.oracle_mode.ddl import Obj
    from tests.oracle_mode.translate import Ddl

#: What a server made without ``privileges`` grants (shown by SESSION_PRIVS).
ALL = ("CREATE SESSION", "CREATE TABLE", "UNLIMITED TABLESPACE", "CREATE ANY TABLE",
       "ALTER ANY TABLE", "DROP ANY TABLE", "CREATE ANY INDEX", "DROP ANY INDEX",
       "INSERT ANY TABLE", "SELECT ANY TABLE")

_OTHER_SCHEMA = {"create_table": "CREATE ANY TABLE", "add": "ALTER ANY TABLE",
                 "modify": "ALTER ANY TABLE", "drop_column": "ALTER ANY TABLE",
                 "rename_column": "ALTER ANY TABLE", "drop_table": "DROP ANY TABLE",
                 "truncate": "DROP ANY TABLE", "create_index": "CREATE ANY INDEX",
                 "drop_index": "DROP ANY INDEX"}
_INTO = re.compile(rf"\s*(?:INSERT|MERGE)\s+(?:/\*.*?\*/\s*)?INTO\s+{_REF}", re.I | re.S)


def session_privs(privileges: tuple[str, ...] | None) -> tuple[str, ...]:
    return ALL if privileges is None else privileges


def _insufficient() -> Exception:
    return oracle_error(1031, "insufficient privileges")


def check_ddl(conn: Connection, d: Ddl, obj: Obj) -> None:
    """ORA-01031 when the login lacks the privilege this DDL needs."""
    privs = conn.server.privileges
    if privs is None or d.action == "noop":
        return
    own = obj.owner == conn.username
    if d.action in ("create_index", "drop_index"):
        from tests.oracle_mode.ddl import resolve

        index = resolve(conn, d.index)
        own = own and index.owner == conn.username
    if own:
        if d.action == "create_table" and "CREATE TABLE" not in privs:
            raise _insufficient()
        return
    if _OTHER_SCHEMA[d.action] not in privs:
        raise _insufficient()


def has_space(conn: Connection, owner: str) -> bool:
    srv = conn.server
    if srv.privileges is None or "UNLIMITED TABLESPACE" in srv.privileges:
        return True
    return srv.quotas.get(owner, 0) != 0


def check_insert(conn: Connection, sql: str) -> None:
    """ORA-01950 for a row into a permanent table whose owner has no space; ORA-01031 for a
    row into another schema's table without INSERT ANY TABLE."""
    srv = conn.server
    if srv.privileges is None:
        return
    m = _INTO.match(sql)
    if m is None:
        raise EmulatorGap(f"cannot tell the table this DML writes: {sql[:120]}")
    from tests.oracle_mode.ddl import GTT, q, resolve

    obj = resolve(conn, m.group("ref"))
    if obj.owner != conn.username and "INSERT ANY TABLE" not in srv.privileges:
        raise _insufficient()
    temporary = conn.db.execute(f"SELECT 1 FROM {q(obj.db)}.{GTT} WHERE name = ?",
                                (obj.name,)).fetchone()
    if not temporary and not has_space(conn, obj.owner):
        raise oracle_error(1950, f"no privileges on tablespace '{srv.default_tablespace}'")


def quota_rows(conn_user: str, server: t.Any) -> list[tuple[str, int, int]]:
    """USER_TS_QUOTAS of the login: (tablespace, bytes used, max bytes; -1 = unlimited)."""
    quota = server.quotas.get(conn_user)
    return [] if quota is None else [(server.default_tablespace, 0, int(quota))]
