"""HTTP Basic users and OAuth2 client-credentials bearer tokens.

The token endpoint stands in for the tenant's IDCS: tokens are opaque, live ``token_ttl``
seconds of real time, and an expired token is a 401 like a wrong password.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass, field

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
    # user -> (password, has lgfapi_read_access)
    users: dict[str, tuple[str, bool]] = field(
        default_factory=lambda: {
            DEV_USER: (DEV_PASSWORD, True),
            NOACCESS_USER: (NOACCESS_PASSWORD, False),
        }
    )
    clients: dict[str, str] = field(default_factory=lambda: {DEV_CLIENT: DEV_SECRET})
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, header: str | None) -> str:
        """Classify a request's Authorization header: ok / unauthenticated / forbidden."""
        if not header:
            return UNAUTHENTICATED
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            with self.lock:
                expiry = self.tokens.get(token)
            return OK if expiry is not None and time.monotonic() < expiry else UNAUTHENTICATED
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
        with self.lock:
            now = time.monotonic()
            self.tokens = {t: e for t, e in self.tokens.items() if e > now}
            self.tokens[token] = now + self.token_ttl
        ttl = self.token_ttl
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
        }
