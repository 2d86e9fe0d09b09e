"""Turning a list request's query string into a ListRequest, and its result into a page body.

Query-string rules follow lgfapi: a repeated parameter's last value wins; control parameters
(page, page_size, page_mode, ordering, fields, cursor, ...) are not filters; everything else is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from wms_simulator.filters import CONTROL, FilterError, parse_filter
from wms_simulator.model import Entity
from wms_simulator.pages import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CursorError,
    decode_cursor,
    paged_envelope,
    sequenced_envelope,
)
from wms_simulator.query import ListRequest, ListResult, order_kind
from wms_simulator.store import Store


class BadRequest(ValueError):
    """A request the API answers with 400."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


def parse_params(query: str) -> dict[str, str]:
    """Query string -> dict; a repeated parameter's last value wins (dict keeps first order)."""
    return dict(parse_qsl(query, keep_blank_values=True))


def _int(params: dict[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer", {name: text}) from exc
    if value < 1:
        raise BadRequest(f"{name} must be >= 1", {name: text})
    return value


def _names(entity: Entity, text: str, what: str, extra: tuple[str, ...] = ()) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [n for n in names if n.lstrip("-") not in entity.by_name and n not in extra]
    if bad:
        raise BadRequest(f"Unknown {what} field(s): {', '.join(bad)}", {what: bad})
    return names


def build_request(store: Store, entity: Entity, params: dict[str, str]) -> ListRequest:
    mode = params.get("page_mode") or "paged"
    if mode not in ("paged", "sequenced"):
        raise BadRequest("page_mode must be paged or sequenced", {"page_mode": mode})
    if params.get("format", "json") != "json":
        raise BadRequest("The simulator serves format=json only", {"format": params["format"]})
    size = min(_int(params, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    ordering = [
        (n.lstrip("-"), n.startswith("-"))
        for n in _names(entity, params.get("ordering", ""), "ordering")
    ]
    conds = []
    for key, value in params.items():
        if key in CONTROL:
            continue
        try:
            conds.append(parse_filter(entity, key, value, store.entity))
        except FilterError as exc:
            raise BadRequest(str(exc), {key: value}) from exc
    signature = urlencode(sorted((k, v) for k, v in params.items() if k not in CONTROL))
    req = ListRequest(
        entity,
        conds,
        ordering,
        mode == "sequenced",
        page=_int(params, "page", 1),
        page_size=size,
        signature=f"{signature}|{params.get('ordering', '')}",
    )
    select(entity, params, [])  # validates fields= / values_list= before any work
    if req.sequenced and params.get("cursor"):
        try:
            req.cursor = decode_cursor(params["cursor"], order_kind(ordering))
        except CursorError as exc:
            raise BadRequest(str(exc), {"cursor": params["cursor"]}) from exc
    return req


def select(entity: Entity, params: dict[str, str], records: list[dict[str, Any]]) -> list[Any]:
    """Apply ``fields=`` (dicts) or ``values_list=`` (flat lists) to the page's records."""
    extra = ("url", *(s.name for s in entity.sets))
    if params.get("values_list"):
        names = _names(entity, params["values_list"], "values_list", extra)
        return [[r.get(n) for n in names] for r in records]
    if params.get("fields"):
        names = _names(entity, params["fields"], "fields", extra)
        return [{n: r.get(n) for n in names} for r in records]
    return records


def envelope(
    req: ListRequest, result: ListResult, base: str, params: dict[str, str], results: list[Any]
) -> dict[str, Any]:
    if req.sequenced:
        return sequenced_envelope(result, base, params, results)
    return paged_envelope(result, req.page, req.page_size, base, params, results)
