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
from dataclasses import dataclass

from tests.oracle_mode import catalog, grants
from tests.oracle_mode.contract import oracle_error
from tests.oracle_mode.translate import Ddl, EmulatorGap, parse_ddl, split_ref, unquote

if t.TYPE_CHECKING:
    from tests.oracle_mode.dbapi import Connection

MAX_KEY_BYTES = 6398  # 8 KB blocks
GTT = f"{catalog.INTERNAL_PREFIX}_GTT"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Obj:
    """A schema object: its Oracle owner, the SQLite database holding it, its name."""

    owner: str
    db: str
    name: str

    @property
    def ref(self) -> str:
        return f"{q(self.db)}.{q(self.name)}"


def execute(conn: Connection, sql: str) -> None:
    """Run one DDL statement (the caller has committed the open transaction)."""
    d = parse_ddl(sql)
    if d.action == "noop":
        return
    db = conn.db
    obj = resolve(conn, d.ref) if d.ref else Obj(conn.username, conn.current, "")
    grants.check_ddl(conn, d, obj)
    conn.pending.error = None
    db.execute("BEGIN IMMEDIATE")
    try:
        _ACTIONS[d.action](conn, db, obj, d)
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise catalog.oracle_error_for(exc, conn.pending, obj.owner) from None
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def resolve(conn: Connection, ref: str) -> Obj:
    """``[OWNER.]NAME`` → the object, in the login's schema when unqualified."""
    owner, name = split_ref(ref)
    if owner is None:
        return Obj(conn.username, conn.current, name)
    if owner not in conn.schemas:
        raise oracle_error(1918, f"user '{owner}' does not exist")
    return Obj(owner, conn.schemas[owner], name)


def _columns(db: sqlite3.Connection, obj: Obj) -> dict[str, str]:
    return dict(db.execute("SELECT name, type FROM pragma_table_info(?, ?)",
                           (obj.name, obj.db)).fetchall())


def _exists(db: sqlite3.Connection, obj: Obj) -> bool:
    return db.execute(f"SELECT 1 FROM {q(obj.db)}.sqlite_master WHERE name = ? COLLATE NOCASE",
                      (obj.name,)).fetchone() is not None


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


def _create_table(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    if _exists(db, obj):
        raise oracle_error(955, "name is already used by an existing object")
    if len({n for n, _, _ in d.columns}) != len(d.columns):
        raise oracle_error(957, "duplicate column name")
    parts = []
    for name, decl, not_null in d.columns:
        _check_type(conn, decl)
        parts.append(f"{q(name)} {q(decl)}" + (" NOT NULL" if not_null else ""))
    decls = {n: decl for n, decl, _ in d.columns}
    for con in d.constraints:
        cols = con[con.index("(") + 1:con.rindex(")")]
        _key_bytes(conn, decls, [unquote(c.strip()) for c in cols.split(",")])
    db.execute(f"CREATE TABLE {obj.ref} ({', '.join([*parts, *d.constraints])})")
    if d.temporary:
        db.execute(f"INSERT INTO {q(obj.db)}.{GTT} (name) VALUES (?)", (obj.name,))
    catalog.check_triggers(db, obj.db, obj.owner, obj.name)


def _add(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    have = {c.upper() for c in _columns(db, obj)}
    if not have:
        raise oracle_error(942, "table or view does not exist")
    for name, decl, not_null in d.columns:
        _check_type(conn, decl)
        if name.upper() in have:
            raise oracle_error(1430, "column being added already exists in table")
        if not_null:
            if db.execute(f"SELECT 1 FROM {obj.ref} LIMIT 1").fetchone():
                raise oracle_error(1758, "table must be empty to add mandatory (NOT NULL) "
                                         "column")
            raise EmulatorGap("adding a NOT NULL column is not emulated")
        db.execute(f"ALTER TABLE {obj.ref} ADD COLUMN {q(name)} {q(decl)}")
    catalog.check_triggers(db, obj.db, obj.owner, obj.name)


def _modify(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    decls = _columns(db, obj)
    if not decls:
        raise oracle_error(942, "table or view does not exist")
    for name, decl, _ in d.columns:
        _check_type(conn, decl)
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
        old = catalog.parse_type(decls[name], conn.server.max_string_bytes)
        new = catalog.parse_type(decl, conn.server.max_string_bytes)
        filled = db.execute(f"SELECT 1 FROM {obj.ref} WHERE {q(name)} IS NOT NULL "
                            "LIMIT 1").fetchone() is not None
        if old.char_used and new.data_type in {"CLOB", "NCLOB"}:
            raise oracle_error(22858, "invalid alteration of datatype")
        if old.char_used and new.char_used:
            longest = db.execute(f"SELECT MAX(LENGTH({q(name)})) FROM {obj.ref}").fetchone()[0]
            if longest and longest > new.char_length:
                raise oracle_error(1441, "cannot decrease column length because some value "
                                         "is too big")
        elif old.data_type != new.data_type and filled:
            raise oracle_error(1439, "column to be modified must be empty to change datatype")
        for cols in _index_columns(db, obj):
            if name in cols:
                try:
                    _key_bytes(conn, {**decls, name: decl}, cols)
                except Exception:
                    raise oracle_error(1404, "ALTER COLUMN will make an index too large") \
                        from None
        _retype(db, obj, name, decls[name], decl)
        decls[name] = decl
    catalog.check_triggers(db, obj.db, obj.owner, obj.name)


def _indexes(db: sqlite3.Connection, obj: Obj) -> list[tuple[str, list[str]]]:
    out = []
    for (ix,) in db.execute("SELECT name FROM pragma_index_list(?, ?)",
                            (obj.name, obj.db)).fetchall():
        out.append((ix, [r[0] for r in db.execute(
            "SELECT name FROM pragma_index_info(?, ?)", (ix, obj.db)).fetchall()]))
    return out


def _index_columns(db: sqlite3.Connection, obj: Obj) -> list[list[str]]:
    return [cols for _, cols in _indexes(db, obj)]


def _retype(db: sqlite3.Connection, obj: Obj, col: str, old: str, new: str) -> None:
    """Change a column's declared type in place (its storage is the same in SQLite)."""
    master = f"{q(obj.db)}.sqlite_master"
    (sql,) = db.execute(f"SELECT sql FROM {master} WHERE type = 'table' AND name = ?",
                        (obj.name,)).fetchone()
    before = f"{q(col)} {q(old)}"
    if sql.count(before) != 1:
        raise EmulatorGap(f"cannot find {before} in {sql}")
    (version,) = db.execute(f"PRAGMA {q(obj.db)}.schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    db.execute(f"UPDATE {master} SET sql = ? WHERE type = 'table' AND name = ?",
               (sql.replace(before, f"{q(col)} {q(new)}"), obj.name))
    db.execute(f"PRAGMA {q(obj.db)}.schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")


def _drop_column(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    decls = _columns(db, obj)
    catalog.drop_triggers(db, obj.db, obj.name)
    for name in d.names:
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
        for ix, cols in _indexes(db, obj):
            if name in cols and not ix.startswith("sqlite_"):
                db.execute(f"DROP INDEX {q(obj.db)}.{q(ix)}")
        db.execute(f"ALTER TABLE {obj.ref} DROP COLUMN {q(name)}")
    catalog.check_triggers(db, obj.db, obj.owner, obj.name)


def _rename_column(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    old, new = d.names
    decls = _columns(db, obj)
    if old not in decls:
        raise oracle_error(904, f'"{old}": invalid identifier')
    if new in decls:
        raise oracle_error(957, "duplicate column name")
    catalog.drop_triggers(db, obj.db, obj.name)
    db.execute(f"ALTER TABLE {obj.ref} RENAME COLUMN {q(old)} TO {q(new)}")
    catalog.check_triggers(db, obj.db, obj.owner, obj.name)


def _drop_table(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    if not _columns(db, obj):
        raise oracle_error(942, "table or view does not exist")
    db.execute(f"DROP TABLE {obj.ref}")
    db.execute(f"DELETE FROM {q(obj.db)}.{GTT} WHERE name = ?", (obj.name,))


def _truncate(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    if not _columns(db, obj):
        raise oracle_error(942, "table or view does not exist")
    db.execute(f"DELETE FROM {obj.ref}")


def _create_index(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    index = resolve(conn, d.index)
    if index.db != obj.db:
        raise EmulatorGap("an index in another schema than its table is not emulated")
    decls = _columns(db, obj)
    if not decls:
        raise oracle_error(942, "table or view does not exist")
    if _exists(db, index):
        raise oracle_error(955, "name is already used by an existing object")
    for name in d.names:
        if name not in decls:
            raise oracle_error(904, f'"{name}": invalid identifier')
    if d.names in _index_columns(db, obj):
        raise oracle_error(1408, "such column list already indexed")
    _key_bytes(conn, decls, d.names)
    unique = "UNIQUE " if d.unique else ""
    db.execute(f"CREATE {unique}INDEX {index.ref} ON {q(obj.name)} "
               f"({', '.join(q(n) for n in d.names)})")


def _drop_index(conn: Connection, db: sqlite3.Connection, obj: Obj, d: Ddl) -> None:
    index = resolve(conn, d.index)
    if not _exists(db, index):
        raise oracle_error(1418, "specified index does not exist")
    db.execute(f"DROP INDEX {index.ref}")


_ACTIONS: dict[str, t.Callable[[Connection, sqlite3.Connection, Obj, Ddl], None]] = {
    "create_table": _create_table, "add": _add, "modify": _modify,
    "drop_column": _drop_column, "rename_column": _rename_column,
    "drop_table": _drop_table, "truncate": _truncate, "create_index": _create_index,
    "drop_index": _drop_index,
}
