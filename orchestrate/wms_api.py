"""Just enough of lgfapi v10 for reconciliation: count rows, list ids, as the tap logs in.

Tenants that give the tap OAuth2 client credentials often have no Basic user at all, so
`wms-ops` speaks both: `wms_auth_method` `basic` (user + password) or `oauth2` (a bearer
token from the tenant's identity domain, client id and secret sent by HTTP Basic as IDCS
expects). When to ask for a token is `wms_oauth`'s rule, the tap's too: ahead of expiry, and
once more when WMS answers 401 to a token the identity domain withdrew early (the request is
then retried once). A failed login names the URL, the user or client and the settings to
check; the secret itself never leaves here.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from orchestrate.config import OpsConfig
from wms_oauth import BearerAuth, Grant, TokenHolder
from wms_oauth.origins import OriginBoundSession, describe_origin, origin_of

logger = logging.getLogger(__name__)

DEFAULT_OAUTH_SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"


class WmsLoginError(RuntimeError):
    """WMS refused our credentials (or the token endpoint did)."""


class _ClientCredentials:
    """The token request of the client-credentials grant (the holder decides when)."""

    def __init__(self, cfg: OpsConfig, session: requests.Session) -> None:
        if not (cfg.wms_oauth_token_url and cfg.wms_oauth_client_id):
            raise WmsLoginError("wms_auth_method is oauth2 but wms_oauth_token_url or "
                                "wms_oauth_client_id is not set")
        self.url = cfg.wms_oauth_token_url
        self.client_id = cfg.wms_oauth_client_id
        self._secret = cfg.wms_oauth_client_secret or ""
        self.scope = cfg.wms_oauth_scope or DEFAULT_OAUTH_SCOPE
        self.timeout = cfg.wms_timeout_seconds
        self._session = session

    def __repr__(self) -> str:
        return f"_ClientCredentials(client={self.client_id!r}, <secret redacted>)"

    def __call__(self) -> Grant:
        try:
            resp = self._session.post(
                self.url, auth=(self.client_id, self._secret), timeout=self.timeout,
                data={"grant_type": "client_credentials", "scope": self.scope})
        except requests.RequestException as exc:
            raise WmsLoginError(f"WMS OAuth token request to {self.url} failed: "
                                f"{type(exc).__name__}") from None
        if not resp.ok:
            raise WmsLoginError(
                f"WMS OAuth token request to {self.url} as client '{self.client_id}' failed "
                f"with HTTP {resp.status_code} (check wms_oauth_client_id, "
                "wms_oauth_client_secret and wms_oauth_scope)")
        body = resp.json()
        return Grant(str(body["access_token"]), float(body.get("expires_in") or 3600))


class WmsClient:
    """Counts and ids of an entity, with the login of `wms_auth_method`."""

    def __init__(self, cfg: OpsConfig) -> None:
        if not cfg.wms_base_url:
            raise WmsLoginError("wms_base_url is not set")
        self.base = cfg.wms_base_url.rstrip("/") + "/wms/lgfapi/v10/entity"
        self.session = OriginBoundSession(self.base, cfg.wms_oauth_token_url or "")
        self.foreign: set[str] = set()  # origins of next_page links not followed
        self.timeout = cfg.wms_timeout_seconds
        self.tokens: TokenHolder | None = None
        method = (cfg.wms_auth_method or "basic").lower()
        if method == "oauth2":
            self.tokens = TokenHolder(_ClientCredentials(cfg, self.session))
            self.session.auth = BearerAuth(self.tokens)
            self.who = f"oauth client '{cfg.wms_oauth_client_id}'"
        elif method == "basic":
            if cfg.wms_username:
                self.session.auth = (cfg.wms_username, cfg.wms_password or "")
            self.who = f"user '{cfg.wms_username}'"
        else:
            raise WmsLoginError(f"wms_auth_method '{cfg.wms_auth_method}' is not basic or oauth2")

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.session.get(url, params=params, timeout=self.timeout)
        if resp.status_code in (401, 403):  # with OAuth2, after one retry with a new token
            raise WmsLoginError(
                f"WMS answered {resp.status_code} to {self.who} for {url.split('?')[0]} "
                "(check the wms_* login settings of wms-ops and the user's lgfapi access)")
        resp.raise_for_status()
        return resp.json()

    def count(self, entity: str) -> int:
        """Total rows the API user may see."""
        body = self._get(f"{self.base}/{entity}/",
                         {"page_mode": "paged", "page_size": 1, "fields": "id"})
        return int(body["result_count"])

    def ids(self, entity: str) -> set[str]:
        """Every id of the entity, following `next_page` while it stays on base_url's
        origin; otherwise the next query is rebuilt from the last id read."""
        out: set[str] = set()
        first = f"{self.base}/{entity}/"
        query: dict[str, Any] = {"page_mode": "paged", "page_size": 1250, "fields": "id",
                                 "ordering": "id"}
        url: str | None = first
        params: dict[str, Any] | None = query
        while url:
            body = self._get(url, params)
            results = body.get("results") or []
            out.update(str(r["id"]) for r in results)
            link = body.get("next_page")
            url, params = (link if isinstance(link, str) and link else None), None
            if url and origin_of(url) != origin_of(first):
                self._warn_foreign(url, entity)
                if not results:
                    break  # no position to go on from
                url, params = first, {**query, "id__gt": results[-1]["id"]}
        return out

    def _warn_foreign(self, link: str, entity: str) -> None:
        foreign = describe_origin(origin_of(link))
        if foreign in self.foreign:
            return
        self.foreign.add(foreign)
        logger.warning(
            "WMS next_page for %s names another origin, %s, not wms_base_url's %s: it is not "
            "requested (credentials stay on wms_base_url); listing goes on from the last id "
            "read. Check the proxy or gateway in front of WMS.",
            entity, foreign, describe_origin(origin_of(self.base)))
