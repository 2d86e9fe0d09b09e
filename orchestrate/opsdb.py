"""The database that holds what only ops knows, on this host or shared by every host.

Meltano's system DB knows runs and the warehouse knows rows, but nobody else knows which alerts
are open (so each is sent once), which runs the guard skipped, what is paused, and the
reconciliation reports. By default that is a SQLite file of this host (`ops_db_path`); with
`ops_db_url` (PostgreSQL, or the Oracle warehouse in a schema of its own) every host reads and
writes the same records, so a pause set on one host holds on all, and an alert is sent once,
not once per host.

Several guards and checks touch it at once. A write transaction (`transaction`) waits for every
other: `BEGIN IMMEDIATE` on SQLite, an update of the one `ops_writer` row elsewhere (a row lock
every writer queues on, on any host), so two checks never both announce one alert.

Opening a SQLite file is the delicate part: two guards start in the same second every Sunday
at 00:00, often on a file that does not exist yet. The busy timeout is set by `connect` itself,
before the first statement; the switch to WAL is skipped when another opener already made it
and retried when SQLite refuses it without waiting (two switches at once would deadlock, so
one of them gets "database is locked" at once); the schema is created in one `BEGIN IMMEDIATE`
transaction, idempotent, and skipped once `user_version` says it is there. On a server
database the tables are created on first use like the lease table: whoever loses the race to
create one finds it made by the other.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from orchestrate.config import OpsConfig, without_credentials
from orchestrate.dbaccess import BUSY_TIMEOUT, engine_url, retry_busy, sqlite_file
from orchestrate.ops_tables import METADATA, SCHEMA_VERSION, WRITER, WRITER_ROW, new_id

#: Attempts at creating the tables when other hosts create them at the same moment.
CREATE_ATTEMPTS = 5


class OpsRow(dict):
    """A row by column name (`row["id"]`, `dict(row)`) or by position (`row[0]`)."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


Params = tuple | list | dict


def _statement(stmt: str | sa.Executable, params: Params) -> tuple[sa.Executable, dict]:
    """Core statements as they are; SQL text with `?` placeholders bound by position."""
    if not isinstance(stmt, str):
        return stmt, dict(params) if isinstance(params, dict) else {}
    if isinstance(params, dict):
        return sa.text(stmt), params
    names = iter(range(len(params)))
    text = re.sub(r"\?", lambda _m: f":p{next(names)}", stmt)
    return sa.text(text), {f"p{i}": v for i, v in enumerate(params)}


class OpsTx:
    """The statements of one transaction (`OpsDB.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def query(self, stmt: str | sa.Executable, params: Params = ()) -> list[OpsRow]:
        """Read rows."""
        result = self.conn.execute(*_statement(stmt, params))
        return [OpsRow(r) for r in result.mappings()]

    def execute(self, stmt: str | sa.Executable, params: Params = ()) -> int:
        """Write one statement; returns how many rows it touched."""
        return int(self.conn.execute(*_statement(stmt, params)).rowcount or 0)

    def insert(self, table: sa.Table, **values: Any) -> int:
        """Insert one row with a new id (when the table has one); returns the id."""
        if "id" in table.c and values.get("id") is None:
            values["id"] = new_id()
        self.conn.execute(sa.insert(table).values(**values))
        return int(values.get("id") or 0)


class OpsDB:
    """The ops records: `where` is a SQLite file (Path) or any SQLAlchemy URL (str)."""

    def __init__(self, where: Path | str, timeout: float = BUSY_TIMEOUT) -> None:
        path = sqlite_file(where) if isinstance(where, str) else where
        self.timeout = timeout
        self.conn: sqlite3.Connection | None = None
        if path is not None:
            self.path: Path | None = path
            self.sqlite = True
            self.engine = self._open_sqlite(path, timeout)
        else:
            self.path = None
            self.sqlite = False
            self.engine = sa.create_engine(engine_url(where), pool_pre_ping=True,
                                           pool_size=1, max_overflow=2)
            try:
                self._create_tables()
            except BaseException:
                self.engine.dispose()
                raise

    # SQLite ---------------------------------------------------------------------------------
    def _open_sqlite(self, path: Path, timeout: float) -> sa.Engine:
        path.parent.mkdir(parents=True, exist_ok=True)
        # `timeout` installs SQLite's busy handler inside connect(), before any statement.
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        self.conn = conn
        try:
            retry_busy(self._use_wal, f"ops DB {path} (switching to WAL)", timeout)
            retry_busy(self._create_schema, f"ops DB {path} (creating its tables)", timeout)
        except BaseException:
            conn.close()
            raise
        # One connection per command, as before: SQLAlchemy only compiles and runs statements
        # on it. Reads run without a transaction; writes in BEGIN IMMEDIATE (see `_begin`).
        engine = sa.create_engine("sqlite://", creator=lambda: conn, poolclass=sa.pool.StaticPool)
        sa.event.listen(engine, "begin", self._begin)
        return engine

    @staticmethod
    def _begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("ops_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _use_wal(self) -> None:
        """WAL lets checks read while a guard writes. Reading the mode first makes every opener
        after the first a pure reader; a filesystem without WAL support keeps its mode."""
        assert self.conn is not None
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL").fetchone()

    def _create_schema(self) -> None:
        """All tables in one write transaction, or none (a retry starts over cleanly)."""
        assert self.conn is not None
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        try:
            self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{sqlite_ddl()}\nPRAGMA user_version = {SCHEMA_VERSION};\n"
                "COMMIT;")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # server databases -----------------------------------------------------------------------
    def _create_tables(self) -> None:
        """Create what is missing; when another host creates the same table at the same
        moment, one of us fails on it, finds it there and goes on with the rest."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    METADATA.create_all(conn, checkfirst=True)
                break
            except sa.exc.DatabaseError:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
        try:
            with self.engine.begin() as conn:
                if conn.execute(sa.select(WRITER.c.name)).first() is None:
                    conn.execute(sa.insert(WRITER).values(name=WRITER_ROW, turns=0))
        except sa.exc.IntegrityError:
            pass  # another host inserted it first

    # statements -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[OpsTx]:
        """A write transaction that every other writer, on any host, waits for."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(ops_write=True)
            with conn.begin():
                if not self.sqlite:
                    conn.execute(sa.update(WRITER).where(WRITER.c.name == WRITER_ROW)
                                 .values(turns=WRITER.c.turns + 1))
                yield OpsTx(conn)

    def query(self, stmt: str | sa.Executable, params: Params = ()) -> list[OpsRow]:
        """Read rows."""
        with self.engine.connect() as conn:
            return OpsTx(conn).query(stmt, params)

    def execute(self, stmt: str | sa.Executable, params: Params = ()) -> int:
        """Write one statement in a transaction of its own; returns how many rows it touched."""
        with self.transaction() as tx:
            return tx.execute(stmt, params)

    def insert(self, table: sa.Table, **values: Any) -> int:
        """Insert one row in a transaction of its own; returns its id."""
        with self.transaction() as tx:
            return tx.insert(table, **values)

    def close(self) -> None:
        """Close the connection(s)."""
        self.engine.dispose()
        if self.conn is not None:
            self.conn.close()


def sqlite_ddl() -> str:
    """The tables and indexes as SQLite DDL, each `IF NOT EXISTS` (idempotent)."""
    dialect = sa.dialects.sqlite.dialect()
    parts = []
    for table in METADATA.sorted_tables:
        parts.append(f"{CreateTable(table, if_not_exists=True).compile(dialect=dialect)};")
        parts.extend(f"{CreateIndex(ix, if_not_exists=True).compile(dialect=dialect)};"
                     for ix in sorted(table.indexes, key=lambda i: i.name or ""))
    return "\n".join(parts)


class OpsDBUnavailable(RuntimeError):
    """The shared ops DB (`ops_db_url`) cannot be reached or set up."""


def open_ops_db(cfg: OpsConfig) -> OpsDB:
    """The ops DB of a configuration: `ops_db_url` when set, else the local `ops_db_path`.
    A failure names the database without its password, and what to check."""
    if not cfg.ops_db_url:
        return OpsDB(cfg.ops_db_path)
    try:
        return OpsDB(cfg.ops_db_url)
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        from orchestrate.leases import error_text

        raise OpsDBUnavailable(
            f"wms-ops: the ops DB {without_credentials(cfg.ops_db_url)} (ops_db_url) cannot be "
            f"used: {error_text(exc, cfg.ops_db_url)}. Check that the server is up, the URL and "
            "the login are right, and that the login may create tables in its schema.") from exc
