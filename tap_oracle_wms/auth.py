"""Authentication: HTTP Basic, or OAuth2 client-credentials against IDCS.

One authenticator instance serves every stream of a run, so an OAuth token is
fetched once and shared. Tokens and credentials are never logged: the SDK's
OAuth base class logs only "Requesting new access token" and error bodies of the
token endpoint (which do not echo the secret).
"""

from __future__ import annotations

import base64
import typing as t

from singer_sdk.authenticators import APIAuthenticatorBase, OAuthAuthenticator
from singer_sdk.helpers._util import utc_now

from tap_oracle_wms.client import WMSAuthError
from tap_oracle_wms.settings import DEFAULT_OAUTH_SCOPE

# Refresh this long before the token's announced expiry, so that no request
# leaves with a token that dies in flight.
REFRESH_MARGIN_SECONDS = 60.0


def _basic_header(user: str, secret: str) -> str:
    raw = f"{user}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class BasicAuth(APIAuthenticatorBase):
    """Static Basic header; kept as an SDK authenticator so streams treat both alike."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.auth_headers["Authorization"] = _basic_header(username, password)

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"


class ClientCredentialsAuth(OAuthAuthenticator):
    """OAuth2 client credentials; the SDK refreshes only once a token has expired,
    we refresh ahead of expiry (the margin, or a tenth of short lifetimes)."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str) -> None:
        super().__init__(
            auth_endpoint=token_url,
            oauth_scopes=scope,
            client_id=client_id,
            client_secret=client_secret,
            # IDCS takes the client credentials by HTTP Basic.
            oauth_headers={"Authorization": _basic_header(client_id, client_secret)},
        )
        self.token_requests = 0

    @property
    def oauth_request_body(self) -> dict:
        return {"grant_type": "client_credentials", "scope": self.oauth_scopes}

    def is_token_valid(self) -> bool:
        if self.last_refreshed is None or self.access_token is None:
            return False
        if not self.expires_in:
            return True
        margin = min(REFRESH_MARGIN_SECONDS, self.expires_in / 10)
        age = (utc_now() - self.last_refreshed).total_seconds()
        return age < self.expires_in - margin

    def update_access_token(self) -> None:
        self.token_requests += 1
        try:
            super().update_access_token()
        except RuntimeError as exc:  # the SDK's bare "Failed to update access token (status=N)"
            msg = (
                f"OAuth token request to {self.auth_endpoint} as oauth client "
                f"'{self.client_id}' failed: {exc} (check oauth_client_id, "
                "oauth_client_secret and oauth_scope)"
            )
            raise WMSAuthError(msg) from exc

    def __repr__(self) -> str:
        return "ClientCredentialsAuth(<redacted>)"


def build_authenticator(config: t.Mapping[str, t.Any]) -> APIAuthenticatorBase:
    """Pick the scheme from `auth_method`; settings were validated beforehand."""
    if config.get("auth_method", "basic") == "oauth2":
        return ClientCredentialsAuth(
            token_url=config["oauth_token_url"],
            client_id=config["oauth_client_id"],
            client_secret=config["oauth_client_secret"],
            scope=config.get("oauth_scope") or DEFAULT_OAUTH_SCOPE,
        )
    return BasicAuth(config["username"], config["password"])


def principal(config: t.Mapping[str, t.Any]) -> str:
    """Who we authenticate as, for error messages (never the secret)."""
    if config.get("auth_method", "basic") == "oauth2":
        return f"oauth client '{config.get('oauth_client_id')}'"
    return f"user '{config.get('username')}'"
