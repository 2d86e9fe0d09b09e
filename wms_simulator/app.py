"""The simulator application: routing, auth, faults and stats, independent of the socket layer.

``Simulator.handle`` turns (method, path, headers, body) into a ``Response``; the HTTP server
only writes it (or, for the ``drop``/``truncate`` faults, deliberately fails to).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from wms_simulator.auth import FORBIDDEN, OK, SCOPE, Auth, basic_credentials
from wms_simulator.cache import ResponseCache
from wms_simulator.changes import apply_changes
from wms_simulator.faults import FaultConfigError, FaultInjector
from wms_simulator.hostile import Hostile, HostileConfigError
from wms_simulator.latency import (
    ConcurrencyGate,
    LatencyConfigError,
    LatencyProfile,
    PageCost,
    by_id,
    pay,
)
from wms_simulator.listing import BadRequest, build_request, envelope, parse_params, select
from wms_simulator.model import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    FK,
    INTEGER,
    STATUS,
    TEXT,
    Entity,
    catalogue_names,
)
from wms_simulator.query import QueryEngine
from wms_simulator.store import API_PATH, Store

JSON = "application/json"
_TYPES = {
    TEXT: "text",
    INTEGER: "integer",
    STATUS: "integer",
    DECIMAL: "decimal",
    BOOLEAN: "boolean",
    DATETIME: "datetime",
    DATE: "date",
    FK: "relation",
}
_CODES = {
    400: "VALIDATION_ERROR",
    401: "NOT_AUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "THROTTLED",
    500: "SERVER_ERROR",
}
_GATEWAY_HTML = b"<html><head><title>%d</title></head><body><h1>%d %s</h1></body></html>"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON
    fault: str = "ok"  # "drop" / "truncate" are carried out by the socket layer
    page: PageCost | None = None  # a list page's cost basis, for the latency profile
    cost: float = 0.0  # seconds the latency profile charged (shown in the stats log)


def json_response(status: int, data: Any, **headers: str) -> Response:
    return Response(status, orjson.dumps(data), dict(headers))


def error(
    status: int, message: str, details: dict[str, Any] | None = None, **headers: str
) -> Response:
    return json_response(
        status,
        {
            "reference": str(uuid.uuid4()),
            "code": _CODES.get(status, "ERROR"),
            "message": message,
            "details": details or {},
        },
        **headers,
    )


class Stats:
    """Request counts per entity and kind/mode, faults served, and a short request log.

    Also the most API requests served at once (``peak_concurrent``, from the concurrency gate)
    and the gateway's 504s, so tests see concurrency and gateway hits without timing anything.
    """

    def __init__(self, gate: ConcurrencyGate | None = None) -> None:
        self.lock = threading.Lock()
        self.gate = gate or ConcurrencyGate()
        self.reset()

    def reset(self) -> None:
        self.gate.reset_peak()
        self.requests: dict[str, Counter[str]] = defaultdict(Counter)
        self.faults: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.total = 0
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)

    def record(
        self, entity: str, kind: str, status: int, fault: str, query: str, cost: float = 0.0
    ) -> None:
        with self.lock:
            self.total += 1
            self.requests[entity][kind] += 1
            self.statuses[status] += 1
            if fault != "ok":
                self.faults[fault] += 1
            self.log.append(
                {
                    "entity": entity,
                    "kind": kind,
                    "status": status,
                    "fault": fault,
                    "query": query,
                    "cost": round(cost, 6),
                }
            )

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "requests": {e: dict(c) for e, c in sorted(self.requests.items())},
                "faults": dict(self.faults),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "peak_concurrent": self.gate.peak,
                "in_flight": self.gate.active,
                "gateway_timeouts": self.statuses.get(504, 0),
                "log": list(self.log),
            }


class Simulator:
    def __init__(
        self,
        scale: int = 2000,
        seed: int = 7,
        environment: str = "dev",
        page_delay: float = 0.0,
        faults: dict[str, Any] | None = None,
        token_ttl: float = 3600.0,
        cache_mb: float = 0.0,
        latency: dict[str, Any] | None = None,
    ) -> None:
        self.environment = environment
        self.latency = LatencyProfile.from_mapping(latency)
        self.gate = ConcurrencyGate(self.latency.max_concurrent)
        self.page_delay = page_delay
        self.store = Store(scale, seed)
        self.engine = QueryEngine(self.store)
        self.auth = Auth(token_ttl=token_ttl)
        self.faults = FaultInjector(faults)
        self.hostile = Hostile()
        self.stats = Stats(self.gate)
        self.cache = ResponseCache.from_mb(cache_mb)  # None: off (the default)
        self.base_url = ""
        #: Seconds the `Date` header is off real time (clock-skew tests; the store's own
        #: clock is synthetic, so a test can also set it to `store.clock` minus now).
        self.date_offset = 0.0

    def set_latency(self, config: dict[str, Any] | None = None) -> LatencyProfile:
        """Replace the latency profile (None or {} = instant); requests in flight keep theirs."""
        profile = LatencyProfile.from_mapping(config)
        self.latency = profile
        self.gate.resize(profile.max_concurrent)
        return profile

    def bind(self, base_url: str) -> None:
        """Called once the server knows its address: records carry absolute URLs."""
        self.base_url = base_url.rstrip("/")
        self.store.set_base_url(self.base_url)

    # --- dispatch -----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        parts = urlsplit(target)
        path, query = parts.path, parts.query
        prefix = f"/{self.environment}"
        if not path.startswith(prefix + "/"):
            return error(404, "Unknown environment.", {"path": path})
        rest = path[len(prefix) :]
        if rest.startswith("/_sim/"):
            return self._admin(method, rest[len("/_sim/") :].strip("/"), headers, body)
        api = API_PATH.rstrip("/")
        if rest.rstrip("/") != api and not rest.startswith(API_PATH):
            return error(404, "Not found.", {"path": path})
        segs = [s for s in rest[len(api) :].split("/") if s]
        kind, entity_name, rid = self._route(segs)
        if kind == "unknown":
            self.stats.record("?", "unknown", 404, "ok", query)
            return error(404, "Not found.", {"path": path})
        if method != "GET":
            return error(405, f"Method {method} not allowed.", Allow="GET")
        status = self.auth.check(headers.get("Authorization"))
        if status != OK:
            resp = (
                error(403, "You do not have permission to perform this action.")
                if status == FORBIDDEN
                else error(
                    401,
                    "Authentication credentials were not provided or are invalid.",
                    **{"WWW-Authenticate": 'Basic realm="lgfapi"'},
                )
            )
            self.stats.record(entity_name or "", kind, resp.status, "ok", query)
            return resp
        action = self.faults.decide(kind)
        resp = self._faulted(action)
        if resp is None:
            if action == "slow":
                time.sleep(self.faults.slow_seconds)
            resp = self._served(kind, entity_name, rid, query)
            resp.fault = action if action in ("drop", "truncate") else "ok"
            if kind in ("list", "record") and resp.status == 200:
                self.hostile.apply(kind, self.store.entity(entity_name or ""), resp)
        stat_kind = kind
        if kind == "list":
            mode = parse_params(query).get("page_mode") or "paged"
            stat_kind = mode if mode in ("paged", "sequenced") else "list"
        self.stats.record(entity_name or "", stat_kind, resp.status, action, query, resp.cost)
        return resp

    @staticmethod
    def _route(segs: list[str]) -> tuple[str, str | None, int | None]:
        if not segs:
            return "catalog", None, None
        if len(segs) == 1:
            return "list", segs[0], None
        if len(segs) == 2 and segs[1] == "describe":
            return "describe", segs[0], None
        if len(segs) == 2 and segs[1].isdigit():
            return "record", segs[0], int(segs[1])
        return "unknown", None, None

    def _faulted(self, action: str) -> Response | None:
        if action == "429":
            return error(
                429, "Request was throttled.", **{"Retry-After": str(self.faults.retry_after)}
            )
        if action == "500":
            return error(500, "Internal server error.")
        if action in ("502", "503"):
            code = int(action)
            text = "Bad Gateway" if code == 502 else "Service Unavailable"
            return Response(
                code, _GATEWAY_HTML % (code, code, text.encode()), content_type="text/html"
            )
        if action == "drop":
            return Response(0, fault="drop")
        return None

    def _served(self, kind: str, name: str | None, rid: int | None, query: str) -> Response:
        """Serve in a gate slot and spend the request's cost there (the latency profile).

        The cost is known once the page is computed; a list call costing more than the
        gateway allows waits the gateway's limit and becomes an HTML 504, as Oracle's does.
        """
        profile = self.latency
        with self.gate.slot():
            resp = self._serve(kind, name, rid, query, count_match=profile.sort_per_row > 0)
            cost = profile.cost(resp.page)
            if kind == "list" and profile.over_gateway(cost):
                pay(profile.gateway_seconds or 0.0)
                body = _GATEWAY_HTML % (504, 504, b"Gateway Timeout")
                return Response(504, body, content_type="text/html", cost=cost)
            pay(cost)
        resp.cost = cost
        return resp

    def _serve(
        self, kind: str, name: str | None, rid: int | None, query: str, count_match: bool = False
    ) -> Response:
        if kind == "catalog":
            prefix = f"{self.base_url}{API_PATH}"
            return json_response(200, {n: f"{prefix}{n}/" for n in catalogue_names()})
        entity = self.store.entity(name or "")
        if entity is None:
            return error(404, f"Unknown entity {name!r}.", {"entity": name})
        if kind == "describe":
            return json_response(200, describe(entity))
        if kind == "record":
            rec = (
                self.store.record(entity.name, rid or 0) if self.store.served(entity.name) else None
            )
            if rec is None:
                return error(404, "No record found.", {"entity": entity.name, "id": rid})
            return json_response(200, rec)
        return self._list(entity, query, count_match)

    def _list(self, entity: Entity, query: str, count_match: bool = False) -> Response:
        params = parse_params(query)
        try:
            req = build_request(self.store, entity, params)
        except BadRequest as exc:
            return error(400, str(exc), exc.details)
        if self.page_delay:
            time.sleep(self.page_delay)
        if not self.store.served(entity.name):
            return error(404, "No records found.", {"entity": entity.name})
        ordered_by_id = by_id(req.ordering)

        def cost_basis(records: int) -> PageCost:
            sorting = count_match and not ordered_by_id
            return PageCost(records, self.engine.match_count(req) if sorting else 0, ordered_by_id)

        cache, key, version = self.cache, None, self.store.snap.version
        if cache is not None:
            key = cache.key(version, self.base_url, entity.name, params)
            hit = cache.get(key)
            if hit is not None:
                body, records = hit
                return Response(200, body, page=cost_basis(records))
        result = self.engine.run(req)
        if not result.records:
            resp = error(404, "No records found.", {"entity": entity.name, "query": query})
            resp.page = cost_basis(0)  # the server sorted the (empty) match all the same
            return resp
        base = f"{self.base_url}{API_PATH}{entity.name}/"
        try:
            results = select(entity, params, result.records)
        except BadRequest as exc:
            return error(400, str(exc), exc.details)
        resp = json_response(200, envelope(req, result, base, params, results))
        resp.page = cost_basis(len(result.records))
        if cache is not None and key is not None and self.store.snap.version == version:
            cache.put(key, resp.body, len(result.records))
        return resp

    # --- /_sim/* ------------------------------------------------------------------------------
    def _admin(self, method: str, name: str, headers: Any, body: bytes) -> Response:
        try:
            if name == "token" and method == "POST":
                return self._token(headers, body)
            if name == "stats" and method == "GET":
                data = {**self.stats.as_dict(), "tokens": self.auth.describe()}
                if self.cache is not None:
                    data["cache"] = self.cache.as_dict()
                return json_response(200, data)
            if name == "stats" and method == "DELETE":
                self.stats.reset()
                self.auth.token_requests.clear()
                return json_response(200, {"reset": True})
            if name == "faults" and method == "GET":
                return json_response(200, self.faults.describe())
            if name == "tokens" and method == "GET":
                return json_response(200, self.auth.describe())
            if name == "latency" and method == "GET":
                return json_response(200, self.latency.as_dict())
            if name == "hostile" and method == "GET":
                return json_response(200, self.hostile.describe())
            data = orjson.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            if name == "tokens" and method == "POST":  # withdraw / revoke_after / revoke_client
                return json_response(200, self.auth.control(data))
            if name == "faults" and method == "POST":
                self.faults.configure(data)
                return json_response(200, self.faults.describe())
            if name == "changes" and method == "POST":
                args = {
                    k: int(data.get(k, 0)) for k in ("update", "insert", "delete", "tie", "late")
                }
                report = apply_changes(self.store, entities=data.get("entities"), **args)
                return json_response(200, report.as_dict())
            if name == "latency" and method == "POST":
                return json_response(200, self.set_latency(data).as_dict())
            if name == "hostile" and method == "POST":
                return json_response(200, self.hostile.configure(data))
        except (ValueError, FaultConfigError, LatencyConfigError, HostileConfigError,
                orjson.JSONDecodeError) as exc:
            return error(400, str(exc))
        return error(404, f"Unknown admin endpoint {method} /_sim/{name}.")

    def _token(self, headers: Any, body: bytes) -> Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        creds = basic_credentials(headers.get("Authorization") or "")
        client_id, secret = creds if creds else (form.get("client_id"), form.get("client_secret"))
        if form.get("grant_type") != "client_credentials":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
            )
        token = self.auth.grant(client_id, secret)
        if token is None:
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed."},
            )
        scope = form.get("scope") or SCOPE
        return json_response(200, {**token, "scope": scope})


def describe(entity: Entity) -> dict[str, Any]:
    """The describe document: filterable parameters and per-field specs."""
    fields: dict[str, Any] = {}
    for f in entity.fields:
        spec: dict[str, Any] = {"type": f.describe_type or _TYPES[f.kind], "required": f.required}
        if f.kind == TEXT:
            spec["max_length"] = f.max_length
            spec["allow_blank"] = not f.required
        if f.kind == DECIMAL:
            spec["max_digits"] = 12 + f.places
            spec["decimal_places"] = f.places
        spec["default"] = "now" if f.name in ("create_ts", "mod_ts") else None
        fields[f.name] = spec
    return {"parameters": [f.name for f in entity.fields], "fields": fields}
