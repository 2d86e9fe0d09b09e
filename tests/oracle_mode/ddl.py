"""DDL on the emulated server: each statement atomic, committed, with Oracle's refusals.

What Oracle refuses and the emulator does too: a name already used (ORA-00955), a column
added twice (ORA-01430), a NOT NULL column added to a non-empty table (ORA-01758), a
VARCHAR2 modified to a CLOB (ORA-22858), narrowed below its data (ORA-01441) or to another
type while it holds data (ORA-01439), an index key over 6,398 bytes (ORA-01450) and a
widened column that would make one (ORA-01404), VARCHAR2 over the server's byte limit
(ORA-00910).
"""

from __future__ import annotations

import sqlite3
import typing as t

from tests.oracle_mode import catalog
from tests.oracle_mode.contract import oracle_error
from tests.oracle_mode.translate import Ddl, EmulatorGap, parse_ddl, split_ref, unquote

if t.TYPE_CHECKING:
    from tests.oracle_mode.dbapi import Connection

MAX_KEY_BYTES = 6398  # 8 KB blocks
GTT = f"{catalog.INTERNAL_PREFIX}_GTT"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def execute(conn: Connection, sql: str) -> None:
    """Run one DDL statement (the caller has committed the open transaction)."""
    d = parse_ddl(sql)
    if d.action == "noop":
        return
    db = conn.db
    table = _table(conn, d.ref) if d.ref else ""
    conn.pending.error = None
    db.execute("BEGIN IMMEDIATE")
    try:
        _ACTIONS[d.action](conn, db, table, d)
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise catalog.oracle_error_for(exc, conn.pending, conn.server.owner) from None
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _table(conn: Connection, ref: str) -> str:
    owner, table = split_ref(ref)
    if owner not in (None, conn.server.owner):
        raise EmulatorGap(f"objects of another schema ({owner}) are not emulated")
    return table


def _columns(db: sqlite3.Connection, table: str) -> dict[str, str]:
    return dict(db.execute("SELECT name, type FROM pragma_table_info(?)", (table,)).fetchall())


def _exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ? COLLATE NOCASE",
                      (name,)).fetchone() is not None


def _check_type(conn: Connection, decl: str) -> None:
    try:
        ot = catalog.parse_type(decl, conn.server.max_string_bytes)
    except ValueError as exc:
        raise EmulatorGap(str(exc)) from exc
    if ot.char_used and ot.char_length > conn.server.max_string_bytes:
        raise oracle_error(910, "specified length too long for its datatype")


def _key_bytes(conn: Connection, decls: dict[str, str], cols: list[str]) -> None:
    total = sum(catalog.max_bytes(decls[c], conn.server.max_string_bytes) for c in cols)
    if total > MAX_KEY_BYTES:
        raise oracle_error(1450, f"maximum key length ({MAX_KEY_BYTES}) exceeded")


def _create_table(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    if _exists(db, table):
        raise oracle_error(955, "name is already used by an existing object")
    parts = []
    for name, decl, not_null in d.columns:
        _check_type(conn, decl)
        parts.append(f"{q(name)} {q(decl)}" + (" NOT NULL" if not_null else ""))
    decls = {n: decl for n, decl, _ in d.columns}
    for con in d.constraints:
        cols = con[con.index("(") + 1:con.rindex(")")]
        _key_bytes(conn, decls, [unquote(c.strip()) for c in cols.split(",")])
    db.execute(f"CREATE TABLE {q(table)} ({', '.join([*parts, *d.constraints])})")
    if d.temporary:
        db.execute(f"INSERT INTO {GTT} (name) VALUES (?)", (table,))
    catalog.check_triggers(db, table)


def _add(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    have = {c.upper() for c in _columns(db, table)}
    if not have:
        raise oracle_error(942, "table or view does not exist")
    for name, decl, not_null in d.columns:
        _check_type(conn, decl)
        if name.upper() in have:
            raise oracle_error(1430, "column being added already exists in table")
        if not_null:
            if db.execute(f"SELECT 1 FROM {q(table)} LIMIT 1").fetchone():
                raise oracle_error(1758, "table must be empty to add mandatory (NOT NULL) "
                                         "column")
            raise EmulatorGap("adding a NOT NULL column is not emulated")
        db.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {q(decl)}")
    catalog.check_triggers(db, table)


def _modify(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    decls = _columns(db, table)
    if not decls:
        raise oracle_error(942, "table or view does not exist")
    for name, decl, _ in d.columns:
        _check_type(conn, decl)
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
        old = catalog.parse_type(decls[name], conn.server.max_string_bytes)
        new = catalog.parse_type(decl, conn.server.max_string_bytes)
        filled = db.execute(f"SELECT 1 FROM {q(table)} WHERE {q(name)} IS NOT NULL "
                            "LIMIT 1").fetchone() is not None
        if old.char_used and new.data_type in {"CLOB", "NCLOB"}:
            raise oracle_error(22858, "invalid alteration of datatype")
        if old.char_used and new.char_used:
            longest = db.execute(f"SELECT MAX(LENGTH({q(name)})) FROM {q(table)}").fetchone()[0]
            if longest and longest > new.char_length:
                raise oracle_error(1441, "cannot decrease column length because some value "
                                         "is too big")
        elif old.data_type != new.data_type and filled:
            raise oracle_error(1439, "column to be modified must be empty to change datatype")
        for cols in _index_columns(db, table):
            if name in cols:
                try:
                    _key_bytes(conn, {**decls, name: decl}, cols)
                except Exception:
                    raise oracle_error(1404, "ALTER COLUMN will make an index too large") \
                        from None
        _retype(db, table, name, decls[name], decl)
        decls[name] = decl
    catalog.check_triggers(db, table)


def _index_columns(db: sqlite3.Connection, table: str) -> list[list[str]]:
    out = []
    for row in db.execute("SELECT name FROM pragma_index_list(?)", (table,)).fetchall():
        out.append([r[0] for r in db.execute("SELECT name FROM pragma_index_info(?)",
                                             (row[0],)).fetchall()])
    return out


def _retype(db: sqlite3.Connection, table: str, col: str, old: str, new: str) -> None:
    """Change a column's declared type in place (its storage is the same in SQLite)."""
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone()
    before = f"{q(col)} {q(old)}"
    if sql.count(before) != 1:
        raise EmulatorGap(f"cannot find {before} in {sql}")
    (version,) = db.execute("PRAGMA schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
               (sql.replace(before, f"{q(col)} {q(new)}"), table))
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")


def _drop_column(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    decls = _columns(db, table)
    catalog.drop_triggers(db, table)
    for name in d.names:
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
        for (ix,) in db.execute("SELECT name FROM pragma_index_list(?)", (table,)).fetchall():
            cols = [r[0] for r in db.execute("SELECT name FROM pragma_index_info(?)", (ix,))]
            if name in cols and not ix.startswith("sqlite_"):
                db.execute(f"DROP INDEX {q(ix)}")
        db.execute(f"ALTER TABLE {q(table)} DROP COLUMN {q(name)}")
    catalog.check_triggers(db, table)


def _rename_column(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    old, new = d.names
    decls = _columns(db, table)
    if old not in decls:
        raise oracle_error(904, f'"{old}": invalid identifier')
    if new in decls:
        raise oracle_error(957, "duplicate column name")
    catalog.drop_triggers(db, table)
    db.execute(f"ALTER TABLE {q(table)} RENAME COLUMN {q(old)} TO {q(new)}")
    catalog.check_triggers(db, table)


def _drop_table(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    if not _columns(db, table):
        raise oracle_error(942, "table or view does not exist")
    db.execute(f"DROP TABLE {q(table)}")
    db.execute(f"DELETE FROM {GTT} WHERE name = ?", (table,))


def _truncate(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    if not _columns(db, table):
        raise oracle_error(942, "table or view does not exist")
    db.execute(f"DELETE FROM {q(table)}")


def _create_index(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    index = _table(conn, d.index)
    decls = _columns(db, table)
    if not decls:
        raise oracle_error(942, "table or view does not exist")
    if _exists(db, index):
        raise oracle_error(955, "name is already used by an existing object")
    for name in d.names:
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
    if d.names in _index_columns(db, table):
        raise oracle_error(1408, "such column list already indexed")
    _key_bytes(conn, decls, d.names)
    unique = "UNIQUE " if d.unique else ""
    db.execute(f"CREATE {unique}INDEX {q(index)} ON {q(table)} "
               f"({', '.join(q(n) for n in d.names)})")


def _drop_index(conn: Connection, db: sqlite3.Connection, table: str, d: Ddl) -> None:
    index = _table(conn, d.index)
    if not _exists(db, index):
        raise oracle_error(1418, "specified index does not exist")
    db.execute(f"DROP INDEX {q(index)}")


_ACTIONS: dict[str, t.Callable[[Connection, sqlite3.Connection, str, Ddl], None]] = {
    "create_table": _create_table, "add": _add, "modify": _modify,
    "drop_column": _drop_column, "rename_column": _rename_column,
    "drop_table": _drop_table, "truncate": _truncate, "create_index": _create_index,
    "drop_index": _drop_index,
}
