"""Authentication: HTTP Basic, or OAuth2 client-credentials against IDCS.

One authenticator instance serves every stream of a run, so an OAuth token is
fetched once and shared. When to fetch is `wms_oauth`'s rule, the same as wms-ops':
ahead of the announced expiry, and once more when WMS answers 401 to a token the
identity domain withdrew early (one fetch however many requests met it, and one retry
of each). Tokens and credentials are never logged: the SDK's OAuth base class logs
only "Requesting new access token" and error bodies of the token endpoint (which do
not echo the secret).
"""

from __future__ import annotations

import base64
import typing as t

import requests
from singer_sdk.authenticators import APIAuthenticatorBase, OAuthAuthenticator

from tap_oracle_wms.client import WMSAuthError
from tap_oracle_wms.settings import DEFAULT_OAUTH_SCOPE
from wms_oauth import BearerAuth, Grant, TokenHolder


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
    """OAuth2 client credentials. The SDK's token request (and its error handling) is
    kept; the token it yields is held by a `wms_oauth.TokenHolder`, which decides when
    to ask for another, for every stream and thread of the run."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str) -> None:
        super().__init__(
            auth_endpoint=token_url,
            oauth_scopes=scope,
            client_id=client_id,
            client_secret=client_secret,
            # IDCS takes the client credentials by HTTP Basic.
            oauth_headers={"Authorization": _basic_header(client_id, client_secret)},
        )
        self.tokens = TokenHolder(self._grant)
        self._bearer = BearerAuth(self.tokens)

    @property
    def oauth_request_body(self) -> dict:
        return {"grant_type": "client_credentials", "scope": self.oauth_scopes}

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return self._bearer(request)

    def _grant(self) -> Grant:
        """One token request (called by the holder, under its lock)."""
        self.update_access_token()
        return Grant(str(self.access_token), self.expires_in)

    def update_access_token(self) -> None:
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
