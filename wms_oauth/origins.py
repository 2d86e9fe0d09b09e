"""Where credentials may go: the tenant's origin (and the token URL), nowhere else.

A `next_page` link, a redirect or any URL taken from a payload is the server's word, and a
mis-set proxy or a hostile answer can name another host. A session that attaches the
tenant's Basic password or bearer token must then refuse to send there, whatever code path
built the request: `OriginBoundSession` checks at `send`, which every request (redirects and
retries included) passes through. Shared by the tap and wms-ops, which may not import each
other.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import requests

Origin = tuple[str, str, int | None]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Origin:
    """(scheme, host, port) with the scheme's default port made explicit, so that
    `https://h:443/x` and `https://h/x` are one origin (real links carry the port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: never equal to a real origin
        port = -1
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def describe_origin(origin: Origin) -> str:
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port is not None else "")


def same_origin(url: str, other: str) -> bool:
    return origin_of(url) == origin_of(other)


class ForeignOriginError(RuntimeError):
    """A request to an origin the credentials do not belong to was about to be sent."""

    def __init__(self, url: str, allowed: t.Iterable[Origin]) -> None:
        foreign = describe_origin(origin_of(url))
        names = ", ".join(sorted(describe_origin(o) for o in allowed))
        super().__init__(
            f"Refused to send a request to {foreign}: credentials are only sent to {names} "
            "(a next_page link, redirect or payload named another host; check base_url and "
            "any proxy in front of WMS)"
        )
        self.foreign = foreign


class OriginBoundSession(requests.Session):
    """A `requests.Session` that only sends to the given origins (base URL, token URL)."""

    def __init__(self, *urls: str) -> None:
        super().__init__()
        self.allowed: frozenset[Origin] = frozenset(origin_of(u) for u in urls if u)

    def allow(self, url: str) -> None:
        self.allowed = self.allowed | {origin_of(url)}

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        if origin_of(request.url or "") not in self.allowed:
            raise ForeignOriginError(request.url or "", self.allowed)
        return super().send(request, **kwargs)
