"""Page envelopes (paged and sequenced), next/previous links and opaque cursors.

A sequenced cursor is base64 of a keyset position (the last served key in the query's order),
bound to that order, so following ``next_page`` stays correct while data changes between pages:
a record changed meanwhile moves to its new place in the order and is not skipped.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import orjson

from wms_simulator.query import ListResult

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1250  # larger requests are clamped to this (documented in README)


class CursorError(ValueError):
    pass


def encode_cursor(order: str, key: Any) -> str:
    raw = orjson.dumps({"o": order, "k": key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, order: str) -> Any:
    """The position inside ``text``; a cursor from another ordering is rejected."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = orjson.loads(raw)
        if data.get("o") != order:
            raise CursorError("cursor does not belong to this ordering")
        key = data["k"]
        if order == "ts":
            return (int(key[0]), int(key[1]))
        return int(key)
    except CursorError:
        raise
    except Exception as exc:
        raise CursorError(f"invalid cursor: {exc}") from exc


def page_url(base: str, params: dict[str, str], **changes: str | None) -> str:
    """Absolute URL of the same query with some parameters replaced (None drops one)."""
    merged = dict(params)
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    if not merged:
        return base
    return f"{base}?{urlencode(merged, safe='!,:')}"


def paged_envelope(
    result: ListResult,
    page: int,
    size: int,
    base: str,
    params: dict[str, str],
    results: list[dict[str, Any]],
) -> dict[str, Any]:
    count = result.count or 0
    pages = -(-count // size) if count else 0
    return {
        "result_count": count,
        "page_count": pages,
        "page_nbr": page,
        "next_page": page_url(base, params, page=str(page + 1)) if page < pages else None,
        "previous_page": page_url(base, params, page=str(page - 1)) if page > 1 else None,
        "results": results,
    }


def sequenced_envelope(
    result: ListResult, base: str, params: dict[str, str], results: list[dict[str, Any]]
) -> dict[str, Any]:
    nxt = None
    if result.has_next and result.next_cursor is not None:
        nxt = page_url(base, params, cursor=encode_cursor(result.order, result.next_cursor))
    # previous_page: the simulator does not keep a backward chain; clients must not rely on it.
    return {"next_page": nxt, "previous_page": None, "results": results}
