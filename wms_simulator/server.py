"""The socket layer: a threading HTTP/1.1 server (keep-alive, Content-Length) around Simulator.

It also carries out the two faults that need the socket: ``drop`` closes the connection
without answering, ``truncate`` announces the full Content-Length, sends part of the body
and closes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wms_simulator.app import Simulator


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Simulator) -> None:
        super().__init__(address, Handler)
        self.app = app
        host, port = self.server_address[:2]
        app.bind(f"http://{host}:{port}/{app.environment}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, a keep-alive client's delayed ACK
    # held the body back ~40 ms per request (every incremental page, every 404). A real
    # WMS answers without that stall, so the simulator must not invent it.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log lives in /_sim/stats."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header, on a clock `app.date_offset` seconds off ours (a skewed host)."""
        if timestamp is None:
            timestamp = time.time() + self.server.app.date_offset
        return super().date_time_string(timestamp)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            resp = self.server.app.handle(method, self.path, self.headers, body)
        except Exception as exc:  # a simulator bug must still answer like a server would
            from wms_simulator.app import error

            resp = error(500, f"Simulator error: {type(exc).__name__}: {exc}")
        if resp.fault == "drop":
            self._hang_up()
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", f"{resp.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if resp.fault == "truncate":
            self.wfile.write(resp.body[: max(1, len(resp.body) // 2)])
            self.wfile.flush()
            self._hang_up()
            return
        self.wfile.write(resp.body)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def start_in_thread(
    app: Simulator, host: str = "127.0.0.1", port: int = 0
) -> tuple[SimHTTPServer, threading.Thread]:
    server = SimHTTPServer((host, port), app)
    thread = threading.Thread(target=server.serve_forever, name="wms-simulator", daemon=True)
    thread.start()
    return server, thread
