"""HTTP Basic users and OAuth2 client-credentials bearer tokens.

The token endpoint stands in for the tenant's IDCS: tokens are opaque, live ``token_ttl``
seconds of real time, and an expired token is a 401 like a wrong password.

Like an identity domain, it can also stop honouring tokens before their announced expiry (a
revocation, a key rollover, a restart): ``withdraw`` drops live tokens now, ``revoke_after``
makes every token issued from then on die that many seconds into its life (while still
announcing ``token_ttl``), ``withdraw_after_requests`` ends every token once it has served that
many requests (withdrawals at points of a run no clock decides), and ``revoke_client`` refuses
a client for good, its live tokens included. ``token_requests`` counts what the token endpoint
answered, so tests can bound it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEV_USER, DEV_PASSWORD = "wms_dev", "wms_dev_password"
NOACCESS_USER, NOACCESS_PASSWORD = "wms_noaccess", "wms_noaccess_password"
DEV_CLIENT, DEV_SECRET = "wms_dev_client", "wms_dev_secret"
SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"

OK, UNAUTHENTICATED, FORBIDDEN = "ok", "unauthenticated", "forbidden"


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` header, else None."""
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


@dataclass
class Auth:
    token_ttl: float = 3600.0
    # Tokens issued from now on stop working this many seconds into their life (None: at ttl).
    revoke_after: float | None = None
    # Every token is withdrawn once it has served this many requests (None: never): early
    # withdrawals at points of a run that no clock decides.
    withdraw_after_requests: int | None = None
    # user -> (password, has lgfapi_read_access)
    users: dict[str, tuple[str, bool]] = field(
        default_factory=lambda: {
            DEV_USER: (DEV_PASSWORD, True),
            NOACCESS_USER: (NOACCESS_PASSWORD, False),
        }
    )
    clients: dict[str, str] = field(default_factory=lambda: {DEV_CLIENT: DEV_SECRET})
    tokens: dict[str, float] = field(default_factory=dict)  # token -> end of life (monotonic)
    owners: dict[str, str] = field(default_factory=dict)  # token -> client it was issued to
    revoked: set[str] = field(default_factory=set)  # clients refused for good
    token_requests: Counter[str] = field(default_factory=Counter)  # issued / refused
    uses: dict[str, int] = field(default_factory=dict)  # token -> requests it served
    withdrawals: int = 0  # withdrawals that ended at least one live token
    # Re-entrant: `grant` issues a token and records its owner in one step.
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Callable[[], float] = time.monotonic  # a test may turn it by hand

    def check(self, header: str | None) -> str:
        """Classify a request's Authorization header: ok / unauthenticated / forbidden."""
        if not header:
            return UNAUTHENTICATED
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            with self.lock:
                expiry = self.tokens.get(token)
                if expiry is None or self.clock() >= expiry:
                    return UNAUTHENTICATED
                used, most = self.uses.get(token, 0), self.withdraw_after_requests
                if most and used >= most:
                    self._drop([token])
                    return UNAUTHENTICATED
                self.uses[token] = used + 1
            return OK
        creds = basic_credentials(header)
        if creds is None:
            return UNAUTHENTICATED
        known = self.users.get(creds[0])
        if known is None or not secrets.compare_digest(known[0], creds[1]):
            return UNAUTHENTICATED
        return OK if known[1] else FORBIDDEN

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        expected = self.clients.get(client_id or "")
        return expected is not None and secrets.compare_digest(expected, secret or "")

    def issue(self) -> dict[str, object]:
        token = secrets.token_urlsafe(32)
        ttl = self.token_ttl
        life = ttl if self.revoke_after is None else min(ttl, self.revoke_after)
        with self.lock:
            now = self.clock()
            self.tokens = {t: e for t, e in self.tokens.items() if e > now}
            self.owners = {t: c for t, c in self.owners.items() if t in self.tokens}
            self.uses = {t: n for t, n in self.uses.items() if t in self.tokens}
            self.tokens[token] = now + life
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
        }

    def grant(self, client_id: str | None, secret: str | None) -> dict[str, object] | None:
        """The token endpoint's decision: a token for a client that authenticates and is not
        revoked, else None (``invalid_client``). Counted either way."""
        with self.lock:
            if not self.client_ok(client_id, secret) or client_id in self.revoked:
                self.token_requests["refused"] += 1
                return None
            answer = self.issue()
            self.owners[str(answer["access_token"])] = str(client_id)
            self.token_requests["issued"] += 1
            return answer

    def withdraw(self, client_id: str | None = None) -> int:
        """Stop honouring the live tokens (of one client, or all); how many there were."""
        with self.lock:
            now = self.clock()
            gone = [
                t
                for t, end in self.tokens.items()
                if end > now and (client_id is None or self.owners.get(t) == client_id)
            ]
            self._drop(gone)
            return len(gone)

    def _drop(self, tokens: list[str]) -> None:
        for token in tokens:
            del self.tokens[token]
            self.owners.pop(token, None)
            self.uses.pop(token, None)
        self.withdrawals += 1 if tokens else 0

    def revoke_client(self, client_id: str) -> int:
        """Refuse the client's token requests from now on, and its live tokens; see `withdraw`."""
        with self.lock:
            self.revoked.add(client_id)
            return self.withdraw(client_id)

    def control(self, data: dict[str, Any]) -> dict[str, Any]:
        """``POST /_sim/tokens``: ``{"withdraw": "all" | client_id}``, ``{"revoke_after":
        seconds | null}``, ``{"withdraw_after_requests": n | null}``, ``{"revoke_client":
        client_id}``, alone or together."""
        unknown = set(data) - {
            "withdraw",
            "revoke_after",
            "withdraw_after_requests",
            "revoke_client",
        }
        if unknown:
            raise ValueError(
                f"unknown token control(s) {sorted(unknown)}: use withdraw, "
                "revoke_after, withdraw_after_requests or revoke_client"
            )
        report: dict[str, Any] = {}
        if "withdraw_after_requests" in data:
            most = data["withdraw_after_requests"]
            if most is not None and (
                isinstance(most, bool) or not isinstance(most, int) or most < 1
            ):
                raise ValueError("withdraw_after_requests must be a whole number >= 1, or null")
            self.withdraw_after_requests = most
        if "revoke_after" in data:
            after = data["revoke_after"]
            if after is not None and (
                isinstance(after, bool) or not isinstance(after, int | float) or after <= 0
            ):
                raise ValueError("revoke_after must be a number of seconds > 0, or null")
            self.revoke_after = None if after is None else float(after)
        if "withdraw" in data:
            which = data["withdraw"]
            if not isinstance(which, str) or not which:
                raise ValueError('withdraw must be "all" or a client id')
            report["withdrawn"] = self.withdraw(None if which == "all" else which)
        if "revoke_client" in data:
            client = data["revoke_client"]
            if not isinstance(client, str) or not client:
                raise ValueError("revoke_client must be a client id")
            report["withdrawn"] = report.get("withdrawn", 0) + self.revoke_client(client)
        return {**report, **self.describe()}

    def describe(self) -> dict[str, Any]:
        """``GET /_sim/tokens``, and the ``tokens`` part of the stats."""
        with self.lock:
            now = self.clock()
            return {
                "live": sum(1 for end in self.tokens.values() if end > now),
                "revoke_after": self.revoke_after,
                "withdraw_after_requests": self.withdraw_after_requests,
                "withdrawals": self.withdrawals,
                "revoked_clients": sorted(self.revoked),
                "requests": {"issued": 0, "refused": 0, **self.token_requests},
            }
