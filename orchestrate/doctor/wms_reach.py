"""Why a WMS request got no HTTP answer: DNS, TLS, a refused connection or a timeout.

Each has a different owner and a different fix (a typo in the host, a proxy that re-signs TLS,
a firewall), so the doctor names them apart instead of printing requests' nested repr.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests nests urllib3's reason in args)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.append(e)
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None),
                    *[a for a in e.args if isinstance(a, BaseException)]):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def classify(exc: BaseException, url: str) -> tuple[str, str, str]:
    """(kind, what was found, the fix) for a request to ``url`` that got no answer."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    chain = _chain(exc)
    if any(isinstance(e, (NameResolutionError, socket.gaierror)) for e in chain):
        return ("dns", f"DNS cannot resolve host '{host}'",
                "check the host in base_url (typo? the tenant's pod, e.g. "
                "ta29.wms.ocs.oraclecloud.com) and this host's DNS/proxy settings")
    if isinstance(exc, requests.exceptions.SSLError) or any(
            isinstance(e, ssl.SSLError) for e in chain):
        detail = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), "")
        reason = detail.split("] ")[-1].split(" (_ssl")[0][:120] if detail else "handshake"
        return ("tls", f"TLS failure talking to {host}:{port} ({reason})",
                "check that base_url is https on the tenant's host; behind a proxy that "
                "re-signs TLS set REQUESTS_CA_BUNDLE to its CA file")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return ("refused", f"connection refused by {host}:{port}",
                "check the port and scheme in base_url, and that a firewall or proxy lets "
                "this host reach the tenant")
    if isinstance(exc, requests.exceptions.Timeout):
        return ("timeout", f"no answer from {host}:{port} within the timeout",
                "check network reachability (firewall, proxy: HTTPS_PROXY) of the tenant")
    return ("connection", f"cannot reach {host}:{port} ({type(exc).__name__})",
            "check base_url and the network path (proxy, firewall) to the tenant")
