"""Bearer auth for `requests`: the holder's token on every request, and one retry after a 401.

The retry is a response hook that the auth arms on each request it authorises, so it applies
wherever the request is sent from (discovery, a page, a retry after a 5xx) without each caller
knowing. The hook resends through the connection adapter, which runs no hooks: a request is
retried at most once per send, and a 401 to the fresh token reaches the caller unchanged, to
be reported as the credentials or grant error it then is.
"""

from __future__ import annotations

import logging
import typing as t

import requests

from wms_oauth.token import TokenHolder

logger = logging.getLogger("wms_oauth")

BEARER = "Bearer "


def _sent_token(request: requests.PreparedRequest) -> str | None:
    header = request.headers.get("Authorization") or ""
    return header[len(BEARER) :] if header.startswith(BEARER) else None


def renewed(response: requests.Response) -> bool:
    """True when this response answers the retry of a request refused with a withdrawn token."""
    return any(r.status_code == 401 for r in response.history)


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>` from a shared `TokenHolder`, renewed once on a 401."""

    def __init__(self, holder: TokenHolder) -> None:
        self.holder = holder

    def __repr__(self) -> str:
        return "BearerAuth(<token redacted>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = BEARER + self.holder.current()
        hooks = request.hooks.setdefault("response", [])
        if self._retry_on_401 not in hooks:  # the SDK authorises a request more than once
            hooks.append(self._retry_on_401)
        return request

    def _retry_on_401(self, response: requests.Response, **send_kwargs: t.Any) -> requests.Response:
        if response.status_code != 401 or response.request is None:
            return response
        stale = _sent_token(response.request)
        if stale is None:
            return response
        # Read the refusal out so its connection goes back to the pool for the retry.
        _ = response.content
        response.close()
        fresh = self.holder.renew(stale)
        if fresh == stale:
            return response
        logger.info(
            "HTTP 401 to %s %s with a token the identity domain no longer honours: "
            "retrying once with a new token",
            response.request.method,
            (response.request.url or "").split("?")[0],
        )
        retry = response.request.copy()
        retry.headers["Authorization"] = BEARER + fresh
        answer = response.connection.send(retry, **send_kwargs)
        answer.history.append(response)
        return answer
