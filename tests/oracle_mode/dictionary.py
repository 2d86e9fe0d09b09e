"""The emulated data dictionary: Oracle's views over SQLite's schema, one schema per file.

Each Oracle schema (user) is one SQLite database: the server's owner is ``main``, the others
are attached under their own name. The views below (TEMP, per session) union them all, with
the Oracle type text each column was declared with; ``USER_*`` views show the login's own.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from tests.oracle_mode.catalog import INTERNAL_PREFIX

#: Names answered by the session's views, never qualified with a schema.
VIEWS = frozenset(("DUAL", "ALL_TAB_COLUMNS", "USER_TAB_COLUMNS", "ALL_TABLES", "USER_TABLES",
                   "ALL_VIEWS", "USER_VIEWS", "ALL_INDEXES", "USER_INDEXES", "ALL_IND_COLUMNS",
                   "USER_IND_COLUMNS", "ALL_CONSTRAINTS", "USER_CONSTRAINTS", "V$PARAMETER",
                   "NLS_SESSION_PARAMETERS", "ALL_USERS", "USER_USERS", "SESSION_PRIVS",
                   "USER_TS_QUOTAS"))


def _index_name(name: str, origin: str, table_sql: str) -> str:
    """A primary key's index is named after its constraint in Oracle."""
    if origin == "pk":
        m = re.search(r'CONSTRAINT\s+"?([^\s"]+)"?\s+PRIMARY\s+KEY', table_sql or "", re.I)
        if m:
            return m.group(1).upper()
    return name


def _union(schemas: Mapping[str, str], select: str) -> str:
    """``select`` once per schema ({db}: SQLite database, {owner}: Oracle name), unioned."""
    return " UNION ALL ".join(select.format(db=f'"{db}"', dbl=f"'{db}'", owner=f"'{owner}'")
                              for owner, db in schemas.items())


def create_views(conn: sqlite3.Connection, schemas: Mapping[str, str], user: str,
                 version: str, max_string_bytes: int) -> None:
    """The session's dictionary. ``schemas``: Oracle schema name → SQLite database name."""
    conn.create_function("ORA_INDEX_NAME", 3, _index_name, deterministic=True)
    hide = f"m.name NOT LIKE '{INTERNAL_PREFIX}%' AND m.name NOT LIKE 'sqlite_%'"
    tables = f"FROM {{db}}.sqlite_master m WHERE m.type = 'table' AND {hide}"
    views = {
        "ALL_TAB_COLUMNS": _union(schemas, f"""
          SELECT {{owner}} AS OWNER, m.name AS TABLE_NAME, p.name AS COLUMN_NAME,
                 ORA_DATA_TYPE(p.type) AS DATA_TYPE, ORA_DATA_LENGTH(p.type) AS DATA_LENGTH,
                 ORA_DATA_PRECISION(p.type) AS DATA_PRECISION,
                 ORA_DATA_SCALE(p.type) AS DATA_SCALE,
                 CASE p."notnull" WHEN 1 THEN 'N' ELSE 'Y' END AS NULLABLE,
                 p.cid + 1 AS COLUMN_ID, ORA_CHAR_LENGTH(p.type) AS CHAR_LENGTH,
                 ORA_CHAR_USED(p.type) AS CHAR_USED
          FROM {{db}}.sqlite_master m JOIN pragma_table_info(m.name, {{dbl}}) p
          WHERE m.type = 'table' AND {hide}"""),
        "ALL_TABLES": _union(schemas, f"""
          SELECT {{owner}} AS OWNER, m.name AS TABLE_NAME,
                 CASE WHEN EXISTS (SELECT 1 FROM {{db}}.{INTERNAL_PREFIX}_GTT g
                                   WHERE g.name = m.name) THEN 'Y' ELSE 'N' END AS TEMPORARY
          {tables}"""),
        "ALL_VIEWS": _union(schemas, f"""
          SELECT {{owner}} AS OWNER, m.name AS VIEW_NAME FROM {{db}}.sqlite_master m
          WHERE m.type = 'view' AND {hide}"""),
        "ALL_INDEXES": _union(schemas, f"""
          SELECT {{owner}} AS OWNER, ORA_INDEX_NAME(il.name, il.origin, m.sql) AS INDEX_NAME,
                 {{owner}} AS TABLE_OWNER, m.name AS TABLE_NAME, 'NORMAL' AS INDEX_TYPE,
                 CASE il."unique" WHEN 1 THEN 'UNIQUE' ELSE 'NONUNIQUE' END AS UNIQUENESS
          FROM {{db}}.sqlite_master m JOIN pragma_index_list(m.name, {{dbl}}) il
          WHERE m.type = 'table' AND {hide}"""),
        "ALL_IND_COLUMNS": _union(schemas, f"""
          SELECT {{owner}} AS INDEX_OWNER,
                 ORA_INDEX_NAME(il.name, il.origin, m.sql) AS INDEX_NAME,
                 {{owner}} AS TABLE_OWNER, m.name AS TABLE_NAME, ii.name AS COLUMN_NAME,
                 ii.seqno + 1 AS COLUMN_POSITION
          FROM {{db}}.sqlite_master m JOIN pragma_index_list(m.name, {{dbl}}) il
               JOIN pragma_index_info(il.name, {{dbl}}) ii
          WHERE m.type = 'table' AND {hide}"""),
        "ALL_CONSTRAINTS": _union(schemas, f"""
          SELECT {{owner}} AS OWNER,
                 ORA_INDEX_NAME(il.name, il.origin, m.sql) AS CONSTRAINT_NAME,
                 'P' AS CONSTRAINT_TYPE, m.name AS TABLE_NAME
          FROM {{db}}.sqlite_master m JOIN pragma_index_list(m.name, {{dbl}}) il
          WHERE m.type = 'table' AND il.origin = 'pk' AND {hide}"""),
    }
    owner_col = {"ALL_IND_COLUMNS": "INDEX_OWNER"}
    compat = ".".join(version.split(".")[:3])
    extended = "EXTENDED" if max_string_bytes > 4000 else "STANDARD"
    script = [f'DROP VIEW IF EXISTS temp."{n}";' for n in VIEWS]
    for name, body in views.items():
        script.append(f"CREATE TEMP VIEW {name} AS {body};")
        user_view = name.replace("ALL_", "USER_")
        script.append(f"CREATE TEMP VIEW {user_view} AS SELECT * FROM {name} "
                      f"WHERE {owner_col.get(name, 'OWNER')} = '{user}';")
    script.append("CREATE TEMP VIEW DUAL AS SELECT 'X' AS DUMMY;")
    script.append(f"""CREATE TEMP VIEW "V$PARAMETER" AS
        SELECT 'compatible' AS NAME, '{compat}' AS VALUE
        UNION ALL SELECT 'max_string_size', '{extended}';""")
    script.append("CREATE TEMP VIEW NLS_SESSION_PARAMETERS AS "
                  "SELECT 'NLS_NUMERIC_CHARACTERS' AS PARAMETER, '.,' AS VALUE;")
    conn.executescript("\n".join(script))


def create_grant_views(conn: sqlite3.Connection, schemas: Mapping[str, str], user: str,
                       server: Any) -> None:
    """The users and what the login may do: ALL_USERS, USER_USERS (its default tablespace),
    SESSION_PRIVS, USER_TS_QUOTAS (see :mod:`tests.oracle_mode.grants`). Without
    ``catalog_views`` V$PARAMETER is gone, as for a login without SELECT_CATALOG_ROLE."""
    from tests.oracle_mode import grants

    def rows(values: list[tuple[Any, ...]], cols: tuple[str, ...]) -> str:
        if not values:
            return "SELECT " + ", ".join(f"NULL AS {c}" for c in cols) + " WHERE 0"
        return " UNION ALL ".join(
            "SELECT " + ", ".join(f"{_lit(v)} AS {c}" for v, c in zip(r, cols, strict=True))
            for r in values)

    ts = server.default_tablespace
    script = [
        "CREATE TEMP VIEW ALL_USERS AS "
        + rows([(s,) for s in schemas], ("USERNAME",)) + ";",
        "CREATE TEMP VIEW USER_USERS AS "
        + rows([(user, ts)], ("USERNAME", "DEFAULT_TABLESPACE")) + ";",
        "CREATE TEMP VIEW SESSION_PRIVS AS "
        + rows([(p,) for p in grants.session_privs(server.privileges)], ("PRIVILEGE",)) + ";",
        "CREATE TEMP VIEW USER_TS_QUOTAS AS "
        + rows(grants.quota_rows(user, server), ("TABLESPACE_NAME", "BYTES", "MAX_BYTES"))
        + ";",
    ]
    if not server.catalog_views:
        script.append('DROP VIEW temp."V$PARAMETER";')
    conn.executescript("\n".join(script))


def _lit(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
