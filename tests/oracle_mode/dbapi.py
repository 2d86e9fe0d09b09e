"""A python-oracledb stand-in that SQLAlchemy's ``oracle+oracledb`` dialect drives.

The target runs its real Oracle code path (OracleDialect, GTT staging, MERGE,
TO_TIMESTAMP_TZ, input sizes, the data-dictionary describe); every ``execute`` /
``executemany`` first passes :mod:`tests.oracle_mode.contract`, then runs on SQLite through
:mod:`tests.oracle_mode.translate` with Oracle's semantics where they differ: ``''`` binds
are NULL, every DDL commits (and is refused while the transaction holds uncommitted DML),
a direct-path load commits on its own, global temporary tables lose their rows at commit,
constraint failures carry Oracle's ORA- codes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import oracledb

from tests.oracle_mode import catalog, contract, ddl, dictionary, grants
from tests.oracle_mode.contract import ContractViolation, oracle_error
from tests.oracle_mode.translate import EmulatorGap, MergeOnColumnUpdated, dml, merge_plan


@dataclass
class Server:
    """One emulated database (a SQLite file) and what tests learn from it."""

    path: str
    owner: str = "LOADER"
    version: str = "19.0.0.0.0"
    max_string_bytes: int = 4000  # 32767 for MAX_STRING_SIZE=EXTENDED (Autonomous)
    #: Other users / schemas (each its own SQLite file beside ``path``); privileges between
    #: them are not emulated, names are: an unqualified name is the login's own table.
    schemas: tuple[str, ...] = ()
    #: The python-oracledb version the target sees; before 3.4 connections have no
    #: ``direct_path_load`` (as the real driver).
    driver_version: str = oracledb.__version__
    #: System privileges of every login (None: all of them, a DBA-like loader), the quota
    #: per schema in bytes (-1 unlimited) and whether V$PARAMETER is visible: see ``grants``.
    privileges: tuple[str, ...] | None = None
    quotas: dict[str, int] = field(default_factory=dict)
    default_tablespace: str = "USERS"
    catalog_views: bool = True
    violations: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    @property
    def max_identifier_length(self) -> int:
        major, minor = (int(x) for x in self.version.split(".")[:2])
        return 128 if (major, minor) >= (12, 2) else 30

    def module(self, user: str | None = None) -> types.SimpleNamespace:
        """The ``dbapi`` module SQLAlchemy gets: oracledb's names, this server's connect
        (as ``user``, default the owner)."""
        mod = types.SimpleNamespace(**{k: getattr(oracledb, k) for k in dir(oracledb)
                                       if not k.startswith("__")})
        major_minor = tuple(int(x) for x in self.driver_version.split(".")[:2])
        cls = Connection if major_minor >= (3, 4) else _ConnectionBefore34
        mod.connect = lambda *a, **kw: cls(self, (user or self.owner).upper())
        mod.version = mod.__version__ = self.driver_version
        return mod


class Connection:
    """One session: a SQLite connection whose transactions follow Oracle's."""

    thin = True

    def __init__(self, server: Server, user: str) -> None:
        self.server = server
        self.version = server.version
        self.max_identifier_length = server.max_identifier_length
        self.username = user
        self.autocommit = False
        self.outputtypehandler: Any = None
        self.inputtypehandler: Any = None
        self.stmtcachesize = 20
        self.pending = catalog.Pending()
        #: Oracle schema → SQLite database holding it.
        self.schemas = {server.owner: "main", **{s.upper(): s.upper() for s in server.schemas}}
        if user not in self.schemas:
            raise oracle_error(1017, "invalid credential or not authorized; logon denied")
        self.current = self.schemas[user]
        self.db = sqlite3.connect(server.path, isolation_level=None, check_same_thread=False,
                                  timeout=60)
        self.db.execute("PRAGMA foreign_keys=OFF")
        for schema, db in self.schemas.items():
            if db != "main":
                self.db.execute(f'ATTACH DATABASE ? AS "{db}"', (f"{server.path}.{schema}.db",))
            self.db.execute(f'CREATE TABLE IF NOT EXISTS "{db}".{catalog.INTERNAL_PREFIX}_GTT '
                            "(name TEXT PRIMARY KEY)")
        catalog.register(self.db, self.pending, user, server.max_string_bytes)
        dictionary.create_views(self.db, self.schemas, user, server.version,
                                server.max_string_bytes)
        dictionary.create_grant_views(self.db, self.schemas, user, server)
        self.in_txn = False
        self.dirty: str | None = None  # the first uncommitted DML, while there is one

    def owner_of(self, db: str) -> str:
        return next(s for s, d in self.schemas.items() if d == db)

    # transactions --------------------------------------------------------------------
    def begin(self) -> None:
        if not self.in_txn:
            self.db.execute("BEGIN IMMEDIATE")
            self.in_txn = True

    def commit(self) -> None:
        if self.in_txn:
            for db in self.schemas.values():
                for (name,) in self.db.execute(
                        f'SELECT name FROM "{db}".{catalog.INTERNAL_PREFIX}_GTT').fetchall():
                    self.db.execute(f'DELETE FROM "{db}"."{name}"')  # ON COMMIT DELETE ROWS
            self.db.execute("COMMIT")
        self.in_txn, self.dirty = False, None

    def rollback(self) -> None:
        if self.in_txn:
            self.db.execute("ROLLBACK")
        self.in_txn, self.dirty = False, None

    def implicit_commit(self, what: str) -> None:
        """DDL and direct path commit the open transaction: refused while it holds DML."""
        if self.dirty is not None:
            msg = (f"{what} inside an open transaction with uncommitted DML ({self.dirty[:120]}"
                   "…): Oracle commits that transaction first, so the code's rollback can "
                   "no longer undo it")
            self.server.violations.append(msg)
            raise ContractViolation(msg)
        self.commit()

    def close(self) -> None:
        self.rollback()
        self.db.close()

    def cursor(self) -> Cursor:
        return Cursor(self)

    def ping(self) -> None:
        pass

    def direct_path_load(self, schema_name: str, table_name: str, column_names: list[str],
                         data: Any, *, batch_size: int = 2**32 - 1) -> None:
        """Rows straight into the table, committed by the load itself."""
        self.implicit_commit(f"direct_path_load into {table_name}")
        grants.check_insert(self, f"INSERT INTO {schema_name}.{table_name}")
        db = self.schemas.get(schema_name.upper())
        if db is None:
            raise oracle_error(942, "table or view does not exist")
        decls = dict(self.db.execute("SELECT name, type FROM pragma_table_info(?, ?)",
                                     (table_name, db)).fetchall())
        if not decls:
            raise oracle_error(942, "table or view does not exist")
        cols = ", ".join(f'"{c}"' for c in column_names)
        marks = ", ".join("?" for _ in column_names)
        rows = [[catalog.native_text(_bindable(v), decls.get(c, "")) for v, c in
                 zip(row, column_names, strict=True)] for row in data]
        self.begin()
        try:
            run(self, lambda: self.db.executemany(
                f'INSERT INTO "{db}"."{table_name}" ({cols}) VALUES ({marks})', rows))
        except Exception:
            self.rollback()
            raise
        self.commit()


class _ConnectionBefore34(Connection):
    """A session of python-oracledb before 3.4: no ``Connection.direct_path_load``."""

    def __getattribute__(self, name: str) -> Any:
        if name == "direct_path_load":
            raise AttributeError(name)
        return super().__getattribute__(name)


def _bindable(value: Any) -> Any:
    """A bind value as Oracle would store it, in a form SQLite accepts."""
    if isinstance(value, str):
        return None if value == "" else value  # Oracle: '' is NULL
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 \
            else float(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return catalog.native_text(value, "TIMESTAMP")
    return value


def _binds(params: Any) -> Any:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return {k: _bindable(v) for k, v in params.items()}
    return [_bindable(v) for v in params]


def run(conn: Connection, call: Any) -> Any:
    """Run a SQLite call; report failures as the ORA- error Oracle would give."""
    conn.pending.error = None
    try:
        return call()
    except sqlite3.Error as exc:
        raise catalog.oracle_error_for(exc, conn.pending, conn.username) from None


class Cursor:
    """DB-API cursor: the contract first, then the statement on SQLite."""

    arraysize = 100
    prefetchrows = 2

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.description: Sequence[tuple] | None = None
        self.rowcount = -1
        self.outputtypehandler: Any = None
        self._rows: list[tuple] = []
        self._sizes: Any = None

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._rows = []

    def setinputsizes(self, *args: Any, **kwargs: Any) -> list | dict:
        self._sizes = kwargs or list(args)
        return self._sizes  # type: ignore[no-any-return]

    def var(self, typ: Any, size: int = 0, arraysize: int = 0, *,
            outconverter: Any = None, **kwargs: Any) -> Any:
        """A fetch variable, as an output type handler asks for one (type + converter)."""
        return types.SimpleNamespace(type=typ, size=size, outconverter=outconverter)

    def _fetch_as(self, rows: list[tuple]) -> list[tuple]:
        """Fetch as python-oracledb does: through the output type handler, if one is set.

        A number column is reported as an unconstrained NUMBER (what an expression or a
        deep subquery gives), text as VARCHAR2.
        """
        handler = self.outputtypehandler or self.connection.outputtypehandler
        if handler is None or not rows:
            return rows
        convert: dict[int, Any] = {}
        for i, d in enumerate(self.description or ()):
            sample = next((r[i] for r in rows if r[i] is not None), None)
            number = isinstance(sample, (int, float))
            dtype = oracledb.DB_TYPE_NUMBER if number else oracledb.DB_TYPE_VARCHAR
            var = handler(self, d[0], dtype, 0, 0, -127 if number else 0)
            if var is None:
                continue
            as_text = var.type in (oracledb.STRING, oracledb.DB_TYPE_VARCHAR, str)
            conv = var.outconverter
            convert[i] = lambda v, t=as_text, c=conv: (
                v if v is None else (c(str(v) if t else v) if c else (str(v) if t else v)))
        if not convert:
            return rows
        return [tuple(convert[i](v) if i in convert else v for i, v in enumerate(r))
                for r in rows]

    def execute(self, statement: str, parameters: Any = None, **kwargs: Any) -> Cursor:
        params = kwargs or parameters
        sizes, self._sizes = self._sizes, None
        contract.check_execute(statement, params, input_sizes=sizes,
                               max_ident_bytes=self.connection.max_identifier_length)
        self._run(statement, [_binds(params)], many=False)
        return self

    def executemany(self, statement: str, parameters: Sequence[Any], **kwargs: Any) -> None:
        sizes, self._sizes = self._sizes, None
        if isinstance(parameters, int):
            raise EmulatorGap("executemany(n) is not emulated")
        contract.check_executemany(statement, parameters, input_sizes=sizes,
                                   max_ident_bytes=self.connection.max_identifier_length)
        self._run(statement, [_binds(p) for p in parameters], many=True)

    def _run(self, sql: str, rows: list[Any], *, many: bool) -> None:
        conn = self.connection
        conn.server.statements.append(sql)
        kind = contract.kind(sql)
        self.description, self._rows, self.rowcount = None, [], 0
        if kind == "DDL":
            conn.implicit_commit(f"DDL ({sql[:80]})")
            ddl.execute(conn, sql)
            return
        if kind == "PLSQL":
            raise EmulatorGap(f"PL/SQL is not emulated: {sql[:120]}")
        if kind == "DML":
            conn.begin()
            if contract.scan(sql).words[0] in ("INSERT", "MERGE"):
                grants.check_insert(conn, sql)
            conn.dirty = conn.dirty or sql
            if contract.scan(sql).words[0] == "MERGE":
                self._merge(sql, rows[0])
                return
        text = dml(sql, conn.current, tuple(conn.schemas.items()))
        if many:
            cur = run(conn, lambda: conn.db.executemany(text, rows))
        else:
            cur = run(conn, lambda: conn.db.execute(text, rows[0]))
        self.rowcount = cur.rowcount
        if cur.description:
            self.description = [(d[0].upper(), None, None, None, None, None, True)
                                for d in cur.description]
            fetched = run(conn, cur.fetchall)
            self._rows = self._fetch_as([tuple(catalog.fetch_native(v) for v in r)
                                         for r in fetched])
            self.rowcount = 0

    def _merge(self, sql: str, binds: Any) -> None:
        conn = self.connection
        try:
            plan = merge_plan(sql, conn.current, tuple(conn.schemas.items()))
        except MergeOnColumnUpdated as exc:
            raise oracle_error(38104, f'Columns referenced in the ON Clause cannot be '
                                      f'updated: "{exc}"') from None
        keys = [f'{plan.s_alias}."{k}"' for k in plan.keys]
        probe = (f"SELECT EXISTS (SELECT 1 FROM {plan.target} {plan.t_alias} WHERE {plan.on}) "
                 f"FROM {plan.source} WHERE {' AND '.join(k + ' IS NOT NULL' for k in keys)} "
                 f"GROUP BY {', '.join(keys)} HAVING COUNT(*) > 1 LIMIT 1")
        dup = run(conn, lambda: conn.db.execute(probe, binds).fetchone())
        if dup is not None:
            if dup[0]:
                raise oracle_error(30926, "unable to get a stable set of rows in the source "
                                          "tables")
            raise oracle_error(1, "unique constraint violated (duplicate key in MERGE source)")
        cur = run(conn, lambda: conn.db.execute(plan.sql, binds))
        self.rowcount = cur.rowcount

    # fetching ------------------------------------------------------------------------
    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        n = size or self.arraysize
        out, self._rows = self._rows[:n], self._rows[n:]
        return out

    def fetchall(self) -> list[tuple]:
        out, self._rows = self._rows, []
        return out

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.pop(0)
