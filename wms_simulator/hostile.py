"""Hostile mode: a WMS, or a proxy in front of it, that misbehaves, and values no schema expects.

Off by default; one switch per quirk, replaced as a whole like the fault configuration:

- ``foreign_next_page``: every list page's ``next_page`` names another origin — a second
  listener on 127.0.0.1 (a free port) that records every ``Authorization`` header it
  receives (``catcher.received``) and answers 404. A client that keeps credentials on the
  tenant's origin never reaches it.
- ``html_answers`` / ``cut_answers``: the next N list answers are a 200 HTML maintenance page
  / JSON cut in half (the socket layer's ``truncate``: full Content-Length, half the body).
- ``values_every``: records whose id is a multiple of N (of ``values_entities``, default
  ``order_hdr``) carry one hostile value each, in the cycle of ``HOSTILE_VALUES`` by
  ``id // N`` (``planted()`` says which record got which). The lone surrogate is written as
  the ``\\ud800`` escape and the integer past 64 bits as its digits, as a Python server would.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from wms_simulator.model import DATETIME, DECIMAL, INTEGER, TEXT, Entity

MAINTENANCE_HTML = (
    b"<!DOCTYPE html><html><head><title>Service under maintenance</title></head>"
    b"<body><h1>Oracle WMS Cloud is under maintenance</h1><p>Please retry later.</p>"
    b"</body></html>"
)


@dataclass(frozen=True)
class HostileValue:
    """One quirk: the field kind it lands in and the JSON text written for it."""

    name: str
    kind: str
    json_text: str

    @property
    def value(self) -> Any:
        """What a JSON parser that accepts it reads (the surrogate as a lone code point)."""
        return json.loads(self.json_text)


HOSTILE_VALUES: tuple[HostileValue, ...] = (
    HostileValue("bad_datetime", DATETIME, '"2025-13-45T99:00:00"'),
    HostileValue("nan_decimal", DECIMAL, '"NaN"'),
    HostileValue("lone_surrogate", TEXT, '"\\ud800 lone"'),
    HostileValue("huge_integer", INTEGER, str(10**40 + 7)),
    HostileValue("infinity_decimal", DECIMAL, '"Infinity"'),
    HostileValue("control_chars", TEXT, '"a\\u0000b\\u0001c\\u001fd\\u007fe"'),
    HostileValue("huge_text", TEXT, json.dumps("x" * 1_000_000)),
)
_SETTINGS = {"foreign_next_page", "html_answers", "cut_answers", "values_every",
             "values_entities"}


class HostileConfigError(ValueError):
    pass


def field_for(entity: Entity, kind: str) -> str | None:
    """The field of `entity` a quirk of `kind` lands in (never the key or `mod_ts`)."""
    for f in entity.fields:
        if f.kind == kind and f.name not in ("id", "mod_ts"):
            return f.name
    return None


class AuthCatcher:
    """The foreign origin: records the Authorization header of anything sent to it."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.requests = 0
        self.lock = threading.Lock()
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                with catcher.lock:
                    catcher.requests += 1
                    if self.headers.get("Authorization"):
                        catcher.received.append(self.headers["Authorization"])
                body = b'{"detail": "No records found."}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.origin = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="wms-simulator-foreign-origin")
        self.thread.start()

    def describe(self) -> dict[str, Any]:
        """Counts and schemes only: the headers themselves are secrets."""
        with self.lock:
            return {"origin": self.origin, "requests": self.requests,
                    "authorization_received": len(self.received),
                    "schemes": sorted({h.split(" ", 1)[0] for h in self.received})}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Hostile:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.catcher: AuthCatcher | None = None
        self.configure({})

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        """Replace the whole hostile configuration (an empty dict turns it off)."""
        unknown = set(config) - _SETTINGS
        if unknown:
            raise HostileConfigError(f"unknown hostile settings: {sorted(unknown)}")
        try:
            html, cut = int(config.get("html_answers", 0)), int(config.get("cut_answers", 0))
            every = int(config.get("values_every", 0))
        except (TypeError, ValueError) as exc:
            raise HostileConfigError(f"hostile counts must be integers: {exc}") from None
        if min(html, cut, every) < 0:
            raise HostileConfigError("hostile counts must be >= 0")
        entities = config.get("values_entities") or ["order_hdr"]
        if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
            raise HostileConfigError("values_entities must be a list of entity names")
        foreign = bool(config.get("foreign_next_page", False))
        with self.lock:
            if foreign and self.catcher is None:
                self.catcher = AuthCatcher()
            self.foreign_next_page = foreign
            self.html_answers, self.cut_answers, self.values_every = html, cut, every
            self.values_entities = list(entities)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {
                "foreign_next_page": self.foreign_next_page, "html_answers": self.html_answers,
                "cut_answers": self.cut_answers, "values_every": self.values_every,
                "values_entities": self.values_entities,
                "values": [v.name for v in HOSTILE_VALUES],
            }
        if self.catcher is not None:
            out["foreign_origin"] = self.catcher.describe()
        return out

    def close(self) -> None:
        if self.catcher is not None:
            self.catcher.close()

    # --- what the application asks -------------------------------------------------------

    def broken_answer(self) -> str | None:
        """"html" or "cut" when the next list answer must be broken (counts down)."""
        with self.lock:
            if self.html_answers:
                self.html_answers -= 1
                return "html"
            if self.cut_answers:
                self.cut_answers -= 1
                return "cut"
        return None

    def quirk_of(self, entity: str, rid: int) -> HostileValue | None:
        every = self.values_every
        if not every or entity not in self.values_entities or rid % every:
            return None
        return HOSTILE_VALUES[(rid // every) % len(HOSTILE_VALUES)]

    def planted(self, entity: Entity, ids: list[int]) -> dict[int, tuple[HostileValue, str]]:
        """id -> (quirk, field) for the records of `ids` that carry one."""
        out = {}
        for rid in ids:
            quirk = self.quirk_of(entity.name, rid)
            name = field_for(entity, quirk.kind) if quirk else None
            if quirk is not None and name is not None:
                out[rid] = (quirk, name)
        return out

    def active(self) -> bool:
        return self.foreign_next_page or bool(self.values_every)

    def apply(self, kind: str, entity: Entity | None, resp: Any) -> None:
        """Make a served 200 (a list page or a record, `app.Response`) hostile, in place."""
        broken = self.broken_answer() if kind == "list" else None
        if broken == "html":
            resp.body, resp.content_type, resp.headers = MAINTENANCE_HTML, "text/html", {}
            return
        if broken == "cut":
            resp.fault = "truncate"
        if entity is not None and self.active():
            resp.body = self.rewrite(entity, resp.body)

    def rewrite(self, entity: Entity, body: bytes) -> bytes:
        """A served JSON body (a list page or one record) with the switched-on quirks."""
        data = orjson.loads(body)
        raw: dict[str, bytes] = {}
        records = data.get("results") if isinstance(data.get("results"), list) else [data]
        for rec in records:
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), int):
                continue
            quirk = self.quirk_of(entity.name, rec["id"])
            name = field_for(entity, quirk.kind) if quirk else None
            if quirk is not None and name is not None:
                mark = f"@@hostile-{len(raw)}@@"
                rec[name] = mark
                raw[mark] = quirk.json_text.encode()
        if self.foreign_next_page and self.catcher and isinstance(data.get("next_page"), str):
            data["next_page"] = _move(data["next_page"], self.catcher.origin)
        out = orjson.dumps(data)
        for mark, text in raw.items():
            out = out.replace(b'"' + mark.encode() + b'"', text)
        return out


def _move(url: str, origin: str) -> str:
    parts, there = urlsplit(url), urlsplit(origin)
    return urlunsplit((there.scheme, there.netloc, parts.path, parts.query, parts.fragment))

