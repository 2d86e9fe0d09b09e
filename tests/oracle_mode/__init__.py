"""Oracle mode: run the target's real Oracle code path without a server.

``oracle_url(path)`` gives an ``oracle+oracledb://`` URL carrying a SQLAlchemy engine plugin
(:class:`OracleModePlugin`), so the target builds its engine exactly as in production —
no product seam, no config key — while the plugin hands SQLAlchemy's oracledb dialect
:mod:`tests.oracle_mode.dbapi` as its driver: python-oracledb's contract
(:mod:`tests.oracle_mode.contract`) checked on every statement, then the statement run on a
SQLite file with Oracle's semantics.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.dialects import plugins
from sqlalchemy.engine import CreateEnginePlugin

from tests.oracle_mode.dbapi import Server

_SERVERS: dict[str, Server] = {}
PLUGIN = "oracle_mode"


def server(path: str, **options: Any) -> Server:
    """The emulated database in file ``path`` (one per file, shared by its connections)."""
    srv = _SERVERS.get(path)
    if srv is None or options:
        srv = _SERVERS[path] = Server(path, **options)
    return srv


def oracle_url(path: str, user: str | None = None) -> str:
    """An Oracle URL whose engine talks to the emulated database in ``path`` (logged in as
    ``user``: the server's owner by default, or one of its ``schemas``)."""
    url = f"oracle+oracledb://?plugin={PLUGIN}&oracle_mode_db={quote(str(path), safe='')}"
    return f"{url}&oracle_mode_user={quote(user)}" if user else url


class OracleModePlugin(CreateEnginePlugin):
    """Swaps the oracledb module for the emulator's, for engines whose URL asks for it."""

    def __init__(self, url: Any, kwargs: dict[str, Any]) -> None:
        super().__init__(url, kwargs)
        self.server = server(url.query["oracle_mode_db"])
        self.user = url.query.get("oracle_mode_user")

    def update_url(self, url: Any) -> Any:
        return url.difference_update_query(["oracle_mode_db", "oracle_mode_user"])

    def handle_dialect_kwargs(self, dialect_cls: Any, dialect_args: dict[str, Any]) -> None:
        dialect_args["dbapi"] = self.server.module(self.user)


plugins.register(PLUGIN, __name__, "OracleModePlugin")
