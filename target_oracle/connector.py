"""Connection and DDL: one engine, one held connection, tables created and evolved.

Connection settings: ``sqlalchemy_url`` (``oracle+oracledb://…`` or ``sqlite:///…``) or,
for Oracle, ``host``/``port``/``service_name``/``username``/``password``/``protocol``,
``dsn`` (overrides host/port/service_name) and ``wallet_location``/``wallet_password``.
Thin mode only. The URL and passwords are never logged.

Evolution is additive: new properties → ``ALTER TABLE … ADD``, longer strings →
``MODIFY`` / move to CLOB, in property order, never a drop or a narrowing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql import SQLConnector

from target_oracle import types as T
from target_oracle.dialects import (
    Batched,
    Column,
    Dialect,
    OracleDialect,
    describe_sql,
    dialect_for,
    index_exists_sql,
)

NO_CONNECTION = (
    "No database connection configured: set `sqlalchemy_url` "
    "(oracle+oracledb://… or sqlite:///…) or the Oracle parts `host` + `service_name` "
    "(or `dsn`) with `username`/`password`. Nothing was written."
)


class OracleConnector(SQLConnector):
    """SDK connector for Oracle (thin) and embedded SQLite."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_overwrite = True
    allow_temp_tables = True

    def __init__(self, config: dict | None = None, sqlalchemy_url: str | None = None) -> None:
        super().__init__(config=config, sqlalchemy_url=sqlalchemy_url)
        self._held: sa.Connection | None = None
        self._dialect_impl: Dialect | None = None

    # connection ----------------------------------------------------------------------
    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        """The configured URL, or a bare Oracle URL whose parts go in ``connect_args``."""
        if config.get("sqlalchemy_url"):
            return str(config["sqlalchemy_url"])
        if config.get("dsn") or config.get("host"):
            return "oracle+oracledb://"
        raise ConfigValidationError(NO_CONNECTION)

    def _oracle_connect_args(self) -> dict[str, Any]:
        cfg = self.config
        args: dict[str, Any] = {}
        if cfg.get("username"):
            args["user"] = cfg["username"]
        if cfg.get("password"):
            args["password"] = cfg["password"]
        if cfg.get("dsn"):
            args["dsn"] = cfg["dsn"]
        elif cfg.get("host"):
            proto = cfg.get("protocol") or "tcp"
            port = cfg.get("port") or 1521
            args["dsn"] = f"{proto}://{cfg['host']}:{port}/{cfg.get('service_name') or ''}"
        if cfg.get("wallet_location"):
            args["wallet_location"] = cfg["wallet_location"]
            args["config_dir"] = cfg["wallet_location"]
        if cfg.get("wallet_password"):
            args["wallet_password"] = cfg["wallet_password"]
        return args

    def create_engine(self) -> sa.Engine:
        """Engine with per-dialect wiring (SQLite transactions, Oracle input sizes)."""
        url = sa.engine.make_url(self.sqlalchemy_url)
        if url.drivername.startswith("oracle"):
            engine = sa.create_engine(url, connect_args=self._oracle_connect_args())
            sa.event.listen(engine, "do_executemany", _set_input_sizes)
        elif url.drivername.startswith("sqlite"):
            if url.database and url.database != ":memory:":
                # A fresh checkout has no output/ folder yet: create the file's folder, as a
                # user pointing the target at a new path expects.
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 120})
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            raise ConfigValidationError(
                f"Unsupported database in sqlalchemy_url: {url.drivername!r}"
            )
        return engine

    @property
    def engine(self) -> sa.Engine:
        """The shared engine (tests attach statement counters to it)."""
        return self._engine

    @property
    def dialect(self) -> Dialect:
        """Oracle or SQLite SQL builder, with the server's identifier limit."""
        if self._dialect_impl is None:
            impl = dialect_for(self._engine.dialect.name)
            if isinstance(impl, OracleDialect):
                held = self.held()  # connect first: the server reports its identifier limit
                impl.max_ident_bytes = int(self._engine.dialect.max_identifier_length or 128)
                impl.max_string_bytes = read_max_string_bytes(held, self.logger)
            self._dialect_impl = impl
        return self._dialect_impl

    def held(self) -> sa.Connection:
        """The one connection all loading goes through (keeps session state stable)."""
        if self._held is None or self._held.closed:
            self._held = self._engine.connect()
        return self._held

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One database transaction on the held connection; rolled back on error."""
        conn = self.held()
        with conn.begin():
            yield conn

    def dispose(self) -> None:
        """Close the held connection and the pool."""
        if self._held is not None:
            self._held.close()
            self._held = None
        if self._cached_engine is not None:
            self._cached_engine.dispose()

    # DDL -----------------------------------------------------------------------------
    def describe(self, table: str, schema: str | None) -> dict[str, T.ColumnType]:
        """Existing columns (name → type as far as widening needs to know), or {}."""
        params: dict[str, Any] = {"table_name": table}
        if self.dialect.name == "oracle":
            params["owner"] = schema
        with self.transaction() as conn:
            rows = conn.exec_driver_sql(describe_sql(self.dialect), params).fetchall()
        return {name: self.dialect.read_type(dtype, length, precision, scale)
                for name, dtype, length, precision, scale in rows}

    def _index_name(self, table: str) -> str:
        d = self.dialect
        return f"{table[: d.max_ident_bytes - 3]}_{'IX' if d.upper else 'ix'}"

    def _create_index(self, table: str, schema: str | None, index: Sequence[str]) -> str:
        d = self.dialect
        cols = ", ".join(d.q(c) for c in index)
        return (f"CREATE INDEX {d.table_ref(self._index_name(table), schema)} "
                f"ON {d.table_ref(table, schema)} ({cols})")

    def _index_exists(self, table: str, schema: str | None) -> bool:
        params: dict[str, Any] = {"index_name": self._index_name(table)}
        if self.dialect.name == "oracle":
            params["owner"] = schema
        with self.transaction() as conn:
            return bool(conn.exec_driver_sql(index_exists_sql(self.dialect), params).scalar())

    def ensure_table(
        self, table: str, schema: str | None, columns: Sequence[Column],
        keys: Sequence[str] = (), *, temporary: bool = False, index: Sequence[str] = (),
    ) -> list[Column]:
        """Create ``table`` or evolve it to hold ``columns``; return effective columns.

        ``index`` adds a non-unique index (snapshot lookups by key) — also to an existing
        table that lacks it: every DDL commits on its own, so a run interrupted between
        CREATE TABLE and CREATE INDEX left the table without it, and the next run creates it.
        ``temporary`` (Oracle only) makes a global temporary staging table, which is
        re-created rather than altered when its shape must change.
        """
        d = self.dialect
        ref = d.table_ref(table, schema)
        existing = self.describe(table, schema)
        statements: list[str] = []
        effective = list(columns)
        if temporary and existing:
            same = list(existing) == [c.name for c in columns] and all(
                existing[c.name] == c.ctype for c in columns
                if c.ctype.kind in {T.STRING, T.CLOB}
            )
            if not same:
                statements.append(f"DROP TABLE {ref}")
                existing = {}
        if not existing:
            if temporary:
                statements.append(d.create_staging(ref, columns))  # type: ignore[attr-defined]
            else:
                pk = f"{table[: d.max_ident_bytes - 3]}_{'PK' if d.upper else 'pk'}"
                statements.append(d.create_table(ref, columns, keys, pk))
            if index:
                statements.append(self._create_index(table, schema, index))
        else:
            statements, existing = d.resume_clob_moves(ref, existing, columns)
            upper_existing = {k.upper(): v for k, v in existing.items()}
            missing = [c for c in columns if c.name.upper() not in upper_existing]
            statements += d.add_columns(ref, missing)
            effective = []
            for c in columns:
                have = upper_existing.get(c.name.upper())
                new = T.widening(have, c.ctype) if have else None
                if have and new:
                    statements += d.widen_column(ref, c, new)
                if have:
                    c = Column(c.name, c.prop, d.effective_type(new or have, c.ctype))
                effective.append(c)
            if index and not self._index_exists(table, schema):
                statements.append(self._create_index(table, schema, index))
        for stmt in statements:
            self._run_ddl(stmt)
        return effective

    def _run_ddl(self, stmt: str) -> None:
        """One statement, one transaction: on Oracle every DDL commits on its own, so no
        span pretends to be atomic. A :class:`Batched` statement runs until it changes no
        row (each run commits)."""
        self.logger.info("DDL: %s", stmt)
        while True:
            with self.transaction() as conn:
                changed = conn.exec_driver_sql(stmt).rowcount
            if not isinstance(stmt, Batched) or changed == 0:
                return
            if changed < 0:  # a driver that does not count would loop for ever
                raise RuntimeError(f"cannot tell when batched statement is done: {stmt}")


MAX_STRING_SIZE_SQL = "SELECT value FROM v$parameter WHERE name = 'max_string_size'"


def read_max_string_bytes(conn: sa.Connection, logger: logging.Logger) -> int:
    """Bytes a VARCHAR2 holds on this database, read once per run.

    32,767 where ``MAX_STRING_SIZE = EXTENDED`` (Autonomous Database), else 4,000. Reading
    ``v$parameter`` needs a grant (SELECT_CATALOG_ROLE or SELECT on V_$PARAMETER); without it
    the run assumes STANDARD — values of 4,000+ bytes are then quarantined though an
    EXTENDED database would take them — and says so.
    """
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            row = conn.exec_driver_sql(MAX_STRING_SIZE_SQL).first()
    except sa.exc.DBAPIError as exc:
        logger.warning(
            "Cannot read MAX_STRING_SIZE from v$parameter (%s); assuming STANDARD "
            "(VARCHAR2 up to 4000 bytes). Grant SELECT on V_$PARAMETER to use EXTENDED.",
            str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__)
        return 4000
    value = str(row[0]).upper() if row and row[0] is not None else "STANDARD"
    logger.info("MAX_STRING_SIZE = %s", value)
    return 32767 if value == "EXTENDED" else 4000


def _set_input_sizes(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
    """Array DML on Oracle: declare bind types/sizes once per ``executemany``."""
    sizes = context.execution_options.get("oracle_input_sizes")
    if sizes:
        cursor.setinputsizes(*sizes)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (real transactions)
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_begin(conn: sa.Connection) -> None:
    # Raw DBAPI call: not a statement of the load (keeps statement counts honest) and
    # IMMEDIATE takes the write lock up front, so concurrent runs queue instead of failing.
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
