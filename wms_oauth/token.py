"""The token a client's requests share, fetched when due and renewed once per withdrawal.

An identity domain can stop honouring a token before its announced `expires_in` (a revocation,
a key rollover, a restart, clocks that disagree), and on a tenant where one page takes minutes a
token can also expire while a request is in flight. The server's 401 is then the only news, and
every request in flight with that token hears it. Renewal is therefore keyed on the token that
failed: the first caller that reports it fetches a new one (holding the lock, so the others
wait), and the callers that report the same token afterwards get the new one without a fetch.
A fetch that fails is final for the holder: every caller, waiting or later, gets its error
rather than asking again, so a revoked client costs one refused token request, not one per
request in flight (credentials do not mend themselves within a run; a new holder asks anew).

Stdlib only: the HTTP POST is the caller's (`fetch`), so each wing keeps its own error messages.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class Grant:
    """A token as the token endpoint issued it; `lifetime` is `expires_in` (None: unannounced)."""

    token: str
    lifetime: float | None

    def __repr__(self) -> str:
        return f"Grant(<token redacted>, lifetime={self.lifetime})"


def refresh_margin(lifetime: float) -> float:
    """How long before its announced expiry a token is replaced: a minute, or a tenth of a
    short lifetime, so that no request leaves with a token about to die in flight."""
    return min(MAX_REFRESH_MARGIN_SECONDS, lifetime / 10)


class TokenHolder:
    """Thread-safe holder of one client's current bearer token (single-flight fetches)."""

    def __init__(
        self, fetch: Callable[[], Grant], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = math.inf
        self._failed: BaseException | None = None  # why the last fetch failed
        self.fetches = 0  # token requests made, for tests and logs

    def __repr__(self) -> str:
        return f"TokenHolder(<token redacted>, fetches={self.fetches})"

    def current(self) -> str:
        """The token to send now: fetched when there is none or it is within the margin."""
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._token is None or self._clock() >= self._renew_at:
                return self._replace()
            return self._token

    def renew(self, stale: str) -> str:
        """A token to retry with after `stale` was refused.

        Fetches only if `stale` is still the current token; when another caller already
        replaced it, its replacement is returned, and when that replacement failed, the
        same error is raised again rather than asking the token endpoint once more.
        """
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._token is None or self._token == stale:
                return self._replace()
            return self._token

    def _replace(self) -> str:
        started = self._clock()
        self.fetches += 1
        self._token, self._renew_at = None, math.inf
        try:
            grant = self._fetch()
        except Exception as exc:
            self._failed = exc
            raise
        self._token = grant.token
        if grant.lifetime:
            # From when the request left: the token's clock started at the server meanwhile.
            self._renew_at = started + grant.lifetime - refresh_margin(grant.lifetime)
        return grant.token
