"""WMS checks: reachability, path, login, entities, clock and latency — as the tap will meet
them, with the tap's own settings.

The facts gathered on the way (catalogue, result counts, page timings) feed the projection, so
a healthy tenant costs a handful of requests: per entity a describe, a one-row page and one
page of the configured size.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from orchestrate.doctor.report import Check, fail, ok, warn
from orchestrate.doctor.settings import DoctorSettings
from orchestrate.doctor.wms_reach import classify
from wms_oauth import BearerAuth, Grant, TokenHolder
from wms_oauth.origins import OriginBoundSession

API = "/wms/lgfapi/v10/entity/"
G = "wms"
MAX_SKEW_SECONDS = 60


@dataclass
class PageTiming:
    """Seconds for a one-row page and for one page of `records` records."""

    one_row: float
    full: float | None = None
    records: int = 0


@dataclass
class WmsFacts:
    """What the projection needs from the tenant."""

    reachable: bool = False
    session: requests.Session | None = None
    api: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, PageTiming] = field(default_factory=dict)
    describes: dict[str, dict[str, Any]] = field(default_factory=dict)  # field → spec
    server_offset: float = 0.0  # the WMS clock minus ours, from `Date` (mod_ts is on it)


class TokenRefused(RuntimeError):
    """The identity domain refused the client-credentials grant (message names the status)."""


def skew_check(date_header: str | None, sent: float, received: float) -> Check:
    """The server's clock against ours, from the `Date` of an answer (1 s resolution)."""
    if not date_header:
        return warn(G, "clock", "the WMS sent no Date header: clock skew unknown")
    try:
        server = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return warn(G, "clock", f"unreadable Date header {date_header[:40]!r}")
    midpoint = (sent + received) / 2
    skew = midpoint - server
    if abs(skew) - (received - sent) / 2 > MAX_SKEW_SECONDS:
        side = "ahead of" if skew > 0 else "behind"
        return warn(G, "clock", f"this host's clock is {abs(skew):.0f} s {side} the WMS "
                    f"(over {MAX_SKEW_SECONDS} s): incremental windows and the lookback are "
                    "computed from it", "sync this host's clock (NTP/chrony)")
    return ok(G, "clock", f"clock within {max(1.0, abs(skew)):.0f} s of the WMS")


def server_offset(date_header: str | None, sent: float, received: float) -> float:
    """Seconds the WMS clock is ahead of ours (0 when unknown)."""
    try:
        return parsedate_to_datetime(date_header or "").timestamp() - (sent + received) / 2
    except (TypeError, ValueError):
        return 0.0


class WmsDoctor:
    """Runs the WMS checks in order; a failure that makes the rest meaningless stops them."""

    def __init__(self, s: DoctorSettings) -> None:
        self.s = s
        self.tap = s.tap
        self.timeout = float(self.tap.get("timeout") or 60)
        self.facts = WmsFacts()

    # plumbing -------------------------------------------------------------------------
    def _session(self) -> tuple[requests.Session, str, TokenHolder | None]:
        # Credentials only to base_url's origin and the token URL, as in the tap and reconcile:
        # a redirect elsewhere is refused, not followed with the password.
        session = OriginBoundSession(str(self.tap.get("base_url") or ""),
                                     str(self.tap.get("oauth_token_url") or ""))
        method = str(self.tap.get("auth_method") or "basic").lower()
        if method == "oauth2":
            holder = TokenHolder(lambda: self._token(session))
            session.auth = BearerAuth(holder)
            return session, f"OAuth2 client '{self.tap.get('oauth_client_id')}'", holder
        session.auth = (str(self.tap.get("username") or ""), str(self.tap.get("password") or ""))
        return session, f"user '{self.tap.get('username')}'", None

    def _token(self, session: requests.Session) -> Grant:
        url = str(self.tap.get("oauth_token_url") or "")
        if not url:
            raise TokenRefused("oauth_token_url is not set")
        resp = requests.post(url, timeout=self.timeout, auth=(
            str(self.tap.get("oauth_client_id") or ""),
            str(self.tap.get("oauth_client_secret") or "")), data={
            "grant_type": "client_credentials", "scope": self.tap.get("oauth_scope") or ""})
        if not resp.ok:
            err = json_of(resp)
            why = str(err.get("error") or "")[:100] if isinstance(err, dict) else ""
            raise TokenRefused(f"HTTP {resp.status_code}{' ' + why if why else ''}")
        body = json_of(resp)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenRefused(f"HTTP {resp.status_code} without an access_token")
        self.s.redact.add(token)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        return Grant(token, lifetime)

    def _get(self, path: str, params: dict[str, Any] | None = None,
             session: requests.Session | None = None) -> tuple[requests.Response, float]:
        start = time.monotonic()
        resp = (session or self.facts.session or requests).get(
            self.facts.api + path, params=params, timeout=self.timeout)
        return resp, time.monotonic() - start

    # checks ---------------------------------------------------------------------------
    def checks(self) -> Iterator[Check]:
        base = str(self.tap.get("base_url") or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            yield fail(G, "base_url", f"base_url is {'not set' if not base else repr(base)}",
                       "set the tap's base_url, e.g. https://ta29.wms.ocs.oraclecloud.com/"
                       "acme_prod")
            return
        self.facts.api = base + API
        if not (yield from self._reach(base)):
            return
        try:
            if not (yield from self._login()):
                return
        except requests.RequestException as exc:
            kind, found, fix = classify(exc, self.facts.api)
            yield fail(G, f"reachability.{kind}", found, fix)
            return
        catalogue = self.catalogue
        for entity in self.s.entities:
            try:
                yield from self._entity(entity, catalogue)
            except requests.RequestException as exc:  # a timeout or reset mid-way
                kind, found, fix = classify(exc, self.facts.api + entity + "/")
                yield fail(G, f"entity.{entity}", f"{entity}: {found} ({kind})",
                           f"{fix}; a read timeout on a big entity can also mean the page "
                           "is too slow for the tap's timeout")

    def _path_404(self, base: str) -> Check:
        env = base.rsplit("/", 1)[-1] if base.count("/") > 2 else ""
        return fail(G, "path", f"{self.facts.api} answers 404: no lgfapi under this base_url",
                    "base_url should end with the environment, e.g. "
                    "https://ta29.wms.ocs.oraclecloud.com/acme_prod"
                    + (f" (it ends with '/{env}')" if env else " (it has no path)"))

    def _reach(self, base: str) -> Generator[Check, None, bool]:
        """The catalogue without credentials: any HTTP answer proves the network path."""
        sent = time.time()
        try:
            resp, seconds = self._get("", session=requests.Session())
        except requests.RequestException as exc:
            kind, found, fix = classify(exc, self.facts.api)
            yield fail(G, f"reachability.{kind}", found, fix)
            return False
        yield ok(G, "reachability", f"{base} answers (HTTP {resp.status_code} in "
                                    f"{seconds * 1000:.0f} ms)")
        received = time.time()
        yield skew_check(resp.headers.get("Date"), sent, received)
        self.facts.server_offset = server_offset(resp.headers.get("Date"), sent, received)
        if resp.status_code == 404:
            yield self._path_404(base)
            return False
        return True

    def _login(self) -> Generator[Check, None, bool]:
        session, who, holder = self._session()
        self.facts.session = session
        if holder is not None:
            url = str(self.tap.get("oauth_token_url") or "")
            try:
                holder.current()
            except TokenRefused as exc:
                yield fail(G, "auth", f"the token request of {who} was refused ({exc})",
                           "check oauth_token_url, oauth_client_id, oauth_client_secret and "
                           "oauth_scope (the client needs the lgfapi scope)")
                return False
            except requests.RequestException as exc:
                _, found, _ = classify(exc, url)
                yield fail(G, "auth", f"token endpoint: {found}",
                           "check oauth_token_url (the identity domain's /oauth2/v1/token)")
                return False
            yield ok(G, "auth.token", f"token issued to {who}")
        resp, _ = self._get("")
        base = self.facts.api[: -len(API)]
        if resp.status_code == 404:
            yield self._path_404(base)
            return False
        if resp.status_code in (401, 403):
            if resp.status_code == 403:
                found, fix = (f"HTTP 403: WMS accepts {who} but denies it the API",
                              "add the user to an lgfapi_read_access group in WMS")
            elif holder is None:
                found, fix = (f"HTTP 401: WMS refused the password of {who}",
                              "check the tap's username and password (HTTP Basic)")
            else:
                found, fix = (f"HTTP 401: WMS refused the token issued to {who}",
                              "check that the OAuth2 client is registered for this WMS "
                              "environment (scope urn:…:lgfapi/)")
            yield fail(G, "auth", found, fix)
            return False
        if not resp.ok:
            yield fail(G, "path", f"the catalogue {self.facts.api} answered HTTP "
                       f"{resp.status_code}", "check base_url; retry later if the tenant is "
                       "in maintenance")
            return False
        try:
            body = resp.json()
        except ValueError:
            yield fail(G, "path", f"{self.facts.api} answered HTTP 200 but not JSON (a login "
                       "page or a proxy?)", "check base_url: it should be the tenant's URL "
                       "ending with the environment, e.g. …/acme_prod")
            return False
        # Entity names are identifiers; anything else in a catalogue (control characters,
        # markup) is never echoed to the terminal as a "close match".
        self._catalogue = ({k for k in body if isinstance(k, str) and k.isidentifier()}
                           if isinstance(body, dict) else set())
        self.facts.reachable = True
        yield ok(G, "auth", f"{who} accepted")
        yield ok(G, "path", f"catalogue of {len(self._catalogue)} entities at {self.facts.api}")
        return True

    @property
    def catalogue(self) -> set[str]:
        return getattr(self, "_catalogue", set())

    def _entity(self, entity: str, catalogue: set[str]) -> Iterator[Check]:
        name = f"entity.{entity}"
        if entity not in catalogue:
            close = difflib.get_close_matches(entity, sorted(catalogue), n=3, cutoff=0.6)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            yield fail(G, name, f"'{entity}' is not in the tenant's catalogue{hint}",
                       "fix the tap's entities setting" + (f" (did you mean {close[0]}?)"
                                                           if close else ""))
            return
        resp, _ = self._get(f"{entity}/describe/")
        if not resp.ok:
            yield fail(G, name, f"describe of {entity} answered HTTP {resp.status_code}",
                       "grant the WMS user read access to this entity, or remove it from "
                       "entities")
            return
        specs = _described_fields(json_of(resp))
        self.facts.describes[entity] = specs
        described = set(specs)
        resp, seconds = self._get(f"{entity}/", {"page_mode": "paged", "page_size": 1})
        if resp.status_code == 404:
            yield warn(G, name, f"{entity}: describe readable ({len(described)} fields); the "
                       "list answered 404: empty, or not readable by this user")
            return
        if not resp.ok:
            yield fail(G, name, f"one-row list of {entity} answered HTTP {resp.status_code}",
                       "grant the WMS user read access to this entity")
            return
        body = json_of(resp)
        if not isinstance(body, dict):
            yield fail(G, name, f"one-row list of {entity} answered HTTP {resp.status_code} "
                       "but not a JSON page (a maintenance page or a proxy?)",
                       "retry later; if it repeats, check what answers at base_url")
            return
        count = count_of(body)
        if count is None:
            yield warn(G, name, f"{entity}: the paged list carries no usable result_count; "
                       "the projection counts it as empty")
            count = 0
        self.facts.counts[entity] = count
        self.facts.timings[entity] = PageTiming(seconds)
        rows = [r for r in body.get("results") or [] if isinstance(r, dict)][:1]
        # `url` and the `*_set` relations come with every record and no describe lists them.
        extra = sorted(f for f in set(rows[0]) - described
                       if f != "url" and not f.endswith("_set")) if rows and described else []
        if extra:
            yield warn(G, name, f"{entity}: {count:,} rows; the sample record has fields "
                       f"describe lacks: {', '.join(extra[:8])}"
                       + (" …" if len(extra) > 8 else "")
                       + " (they are still loaded, as text or JSON)")
        else:
            yield ok(G, name, f"{entity}: describe readable ({len(described)} fields), "
                              f"{count:,} rows")
        yield from self._latency(entity, count)

    def _latency(self, entity: str, count: int) -> Iterator[Check]:
        """One page of the configured size (id order, as the full sync reads it)."""
        timing = self.facts.timings[entity]
        size = self.s.page_size
        if count > 1:
            resp, seconds = self._get(f"{entity}/", {"page_mode": "paged", "page_size": size,
                                                     "ordering": "id"})
            if resp.ok:
                timing.full = seconds
                page = json_of(resp)
                results = page.get("results") if isinstance(page, dict) else None
                timing.records = len(results) if isinstance(results, list) else 0
            else:
                yield warn(G, f"latency.{entity}", f"a page of {size:,} answered HTTP "
                           f"{resp.status_code} after {seconds:.1f} s (one-row page "
                           f"{timing.one_row:.2f} s)", "lower the tap's page_size if this "
                           "repeats (a 504 is the gateway's 300 s limit)")
                return
        if timing.full is None:
            yield ok(G, f"latency.{entity}", f"one-row page {timing.one_row:.2f} s")
            return
        yield ok(G, f"latency.{entity}", f"one-row page {timing.one_row:.2f} s, page of "
                 f"{timing.records:,} {timing.full:.2f} s")


def json_of(resp: requests.Response) -> Any:
    """The answer's JSON, or None: a WMS (or a proxy before it) may answer 200 with HTML."""
    try:
        return resp.json()
    except ValueError:
        return None


def count_of(body: Any) -> int | None:
    """A paged list's `result_count` when it is a count (untrusted: a whole number ≥ 0)."""
    value = body.get("result_count") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _described_fields(doc: Any) -> dict[str, Any]:
    """Field name → spec of a describe document (`fields` mapping or list, else
    `parameters`, names only)."""
    if not isinstance(doc, dict):
        return {}
    fields = doc.get("fields")
    if isinstance(fields, dict):
        return {str(k): v for k, v in fields.items()}
    if isinstance(fields, list):
        return {str(f["name"]): f for f in fields if isinstance(f, dict) and f.get("name")}
    if isinstance(doc.get("parameters"), list):
        return {str(p): {} for p in doc["parameters"]}
    return {}

