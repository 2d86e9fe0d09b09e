"""Everything that differs between Oracle and the embedded SQLite, as SQL text.

``base`` holds what both share (columns, value converters, the statement builders both use);
``oracle`` and ``sqlite`` hold what each does its own way. See ``base`` for the storage
choices of each database.
"""

from __future__ import annotations

from target_oracle.dialects.base import Batched, Column, Dialect, RejectValue
from target_oracle.dialects.oracle import OracleDialect
from target_oracle.dialects.sqlite import SQLiteDialect

__all__ = [
    "Batched",
    "Column",
    "Dialect",
    "OracleDialect",
    "RejectValue",
    "SQLiteDialect",
    "describe_sql",
    "dialect_for",
    "index_exists_sql",
]


def dialect_for(url_drivername: str) -> Dialect:
    """Pick the dialect from a SQLAlchemy driver name."""
    if url_drivername.startswith("oracle"):
        return OracleDialect()
    if url_drivername.startswith("sqlite"):
        return SQLiteDialect()
    raise ValueError(f"unsupported database {url_drivername!r}: use oracle+oracledb or sqlite")


def describe_sql(dialect: Dialect) -> str:
    """Existing columns of one table, in column order: name, data type, char length,
    precision, scale (the last two tell NUMBER(38) and NUMBER(1) from NUMBER)."""
    if dialect.name == "oracle":
        return (
            "SELECT COLUMN_NAME, DATA_TYPE, CHAR_LENGTH, DATA_PRECISION, DATA_SCALE "
            "FROM ALL_TAB_COLUMNS "
            "WHERE OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND TABLE_NAME = :table_name ORDER BY COLUMN_ID"
        )
    return ("SELECT name, type, NULL, NULL, NULL FROM pragma_table_info(:table_name) "
            "ORDER BY cid")


def index_exists_sql(dialect: Dialect) -> str:
    """How many indexes are named ``:index_name`` (in ``:owner`` on Oracle): 0 or 1."""
    if dialect.name == "oracle":
        return (
            "SELECT COUNT(*) FROM ALL_INDEXES "
            "WHERE OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND INDEX_NAME = :index_name"
        )
    return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = :index_name"
