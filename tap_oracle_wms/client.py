"""HTTP plumbing shared by discovery and the streams: one keep-alive session,
response classification, body parsing, retries with backoff, and a throttle.

Bodies are parsed once, here, inside the retried call: a truncated body is then
just another retriable failure, and the parsed payload is cached on the response
so the paginator and the record parser never parse it again.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import typing as t

import requests
import urllib3
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_oracle_wms.inflight import AdaptiveLimiter
from tap_oracle_wms.links import LinkCheck
from tap_oracle_wms.payloads import parse_body
from wms_oauth.origins import OriginBoundSession

logger = logging.getLogger("tap-oracle-wms")

PAYLOAD_ATTR = "_wms_payload"
EXCERPT_CHARS = 300
MAX_WAIT_SECONDS = 300.0

RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    RetriableAPIError,
    ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class WMSAuthError(FatalAPIError):
    """401/403: credentials or grants are wrong; retrying cannot help."""


class WMSRequestError(FatalAPIError):
    """A request failed for good: a 4xx, or retries ran out."""


class RetriableWMSError(RetriableAPIError):
    """A failure worth another try, carrying the server's Retry-After if any."""

    def __init__(
        self,
        message: str,
        response: requests.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response)
        self.retry_after = retry_after
        self.status = response.status_code if response is not None else None


class TooSlowForGateway(Exception):
    """A list query answered 504 or timed out: asking the same again costs another
    gateway timeout, so the caller asks for less (smaller page, narrower window)."""

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(f"{url}: {_describe(cause)}")
        self.cause = cause


#: Signs of an overloaded server: the in-flight limit halves.
OVERLOAD_STATUSES = frozenset({429, 503, 504})


def overload_reason(exc: BaseException) -> str | None:
    """Why `exc` means the WMS is overloaded (None: it does not)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return type(exc).__name__
    status = getattr(exc, "status", None)
    return f"HTTP {status}" if status in OVERLOAD_STATUSES else None


def needs_smaller_query(exc: BaseException) -> bool:
    """504 and read timeouts: the query itself is too big for the gateway's 5 minutes."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    return getattr(exc, "status", None) == 504


def make_session(max_parallel: int = 1, root: str = "") -> OriginBoundSession:
    """Keep-alive session; retries are ours, not urllib3's, so they are counted once.
    One pooled connection per request in flight, so none is opened and dropped per page.
    It carries the tenant's credentials, so it sends to `root`'s origin only."""
    session = OriginBoundSession(root)
    pool = max(8, int(max_parallel))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def excerpt(response: requests.Response) -> str:
    try:
        text = response.content[:EXCERPT_CHARS].decode("utf-8", "replace")
    except requests.exceptions.RequestException:
        return "<unreadable body>"
    return " ".join(text.split())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_response(
    response: requests.Response, *, what: str, who: str, warned: set[str] | None = None
) -> None:
    """Classify a response and, when it is a success, parse and cache its body.

    `what` names the entity (or catalogue) and `who` the principal, for messages.
    A 404 is left to the caller (on a list it means "no rows"). `warned`: fields already
    reported for a lone surrogate (see `payloads.parse_body`).
    """
    status = response.status_code
    where = f"{response.request.method} {response.url}" if response.request else response.url
    if status in (401, 403):
        # With OAuth2, a 401 seen here is the answer to the one retry with a new token that
        # the authenticator (wms_oauth.BearerAuth) already made: the grant itself is refused.
        msg = (
            f"HTTP {status} reading {what} as {who}: not authorised "
            f"(check credentials and lgfapi read grants). {where}: {excerpt(response)}"
        )
        raise WMSAuthError(msg)
    if status == 429 or status >= 500:
        msg = f"HTTP {status} for {where}: {excerpt(response)}"
        raise RetriableWMSError(
            msg, response, parse_retry_after(response.headers.get("Retry-After"))
        )
    if status == 404:
        setattr(response, PAYLOAD_ATTR, None)
        return
    if status >= 400:
        msg = f"HTTP {status} for {where} ({what}): {excerpt(response)}"
        raise WMSRequestError(msg)
    try:
        payload = parse_body(response.content, what=what, warned=warned)
    except ValueError as exc:
        msg = f"Truncated or invalid JSON from {where} ({len(response.content)} bytes): {exc}"
        raise RetriableWMSError(msg, response) from exc
    setattr(response, PAYLOAD_ATTR, payload)


def payload_of(response: requests.Response) -> t.Any:
    """The body parsed by `check_response` (None for a 404)."""
    return getattr(response, PAYLOAD_ATTR, None)


class Throttle:
    """Client-side pacing shared by all requests of the run (thread-safe: the
    page prefetcher and the main thread both send)."""

    def __init__(self, per_minute: float | None) -> None:
        # float(): the SDK reads non-integral config numbers as Decimal (120.0 -> Decimal).
        self.interval = 60.0 / float(per_minute) if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class RetryPolicy:
    """Exponential backoff with jitter, never shorter than the server's Retry-After."""

    def __init__(
        self,
        max_retries: int,
        base_seconds: float,
        throttle: Throttle,
        sleep: t.Callable[[float], None] = time.sleep,
        limiter: AdaptiveLimiter | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.base_seconds = base_seconds
        self.throttle = throttle
        self.sleep = sleep
        self.limiter = limiter or AdaptiveLimiter(1)
        self.reached = False  # once any request succeeded, refused connections are retried

    def delay(self, attempt: int, retry_after: float | None) -> float:
        expo = self.base_seconds * (2**attempt)
        wait = expo / 2 + random.uniform(0, expo / 2)  # jitter, not crypto
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, MAX_WAIT_SECONDS)

    def call(
        self,
        func: t.Callable[..., t.Any],
        *args: t.Any,
        url: str,
        adaptive: bool = False,
        **kwargs: t.Any,
    ) -> t.Any:
        """Every request of the run passes here: throttle, in-flight limit, retries.

        With `adaptive`, a 504 or read timeout is not retried as is but raised as
        `TooSlowForGateway`, for the caller to ask a smaller question."""
        attempt = 0
        while True:
            self.throttle.wait()
            try:
                with self.limiter.slot() as slot:
                    try:
                        result = func(*args, **kwargs)
                    except RETRIABLE_EXCEPTIONS as exc:
                        if reason := overload_reason(exc):
                            slot.overload(reason, getattr(exc, "retry_after", None))
                        raise
                    slot.ok()
                self.reached = True
                return result
            except RETRIABLE_EXCEPTIONS as exc:
                if adaptive and needs_smaller_query(exc):
                    raise TooSlowForGateway(url, exc) from exc
                if not self.reached and _never_connected(exc):
                    # The tenant was never reached (refused, unknown host): a wrong base_url or
                    # a closed network, not a passing fault; retrying for minutes hides it.
                    msg = (
                        f"Cannot reach the WMS at {url}: {_describe(exc)}. "
                        "Check base_url and that this machine can reach the tenant."
                    )
                    raise WMSRequestError(msg) from exc
                if attempt >= self.max_retries:
                    msg = (
                        f"Giving up on {url} after {attempt + 1} attempts "
                        f"({self.max_retries} retries): {_describe(exc)}"
                    )
                    raise WMSRequestError(msg) from exc
                wait = self.delay(attempt, getattr(exc, "retry_after", None))
                attempt += 1
                logger.warning(
                    "Retry %d/%d in %.2fs for %s: %s",
                    attempt,
                    self.max_retries,
                    wait,
                    url,
                    _describe(exc),
                )
                self.sleep(wait)


def _never_connected(exc: BaseException) -> bool:
    """True when no TCP connection could be opened (refused, unknown host), as opposed to a
    connection that was reset, dropped or timed out after it was made."""
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
        exc, requests.exceptions.ConnectTimeout
    ):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class WMSClient:
    """The run's one connection to the tenant: session, auth, throttle and retries,
    shared by discovery (catalogue, describe) and every stream."""

    def __init__(
        self,
        *,
        root: str,
        authenticator: t.Callable[[requests.PreparedRequest], requests.PreparedRequest],
        who: str,
        timeout: float,
        max_retries: int,
        backoff_seconds: float,
        per_minute: float | None,
        max_parallel: int = 1,
        user_agent: str = "tap-oracle-wms",
    ) -> None:
        self.root = root.rstrip("/")
        self.authenticator = authenticator
        self.who = who
        self.timeout = timeout
        self.session = make_session(max_parallel, self.root)
        self.links = LinkCheck(self.root)
        self._warned: set[str] = set()
        self.session.headers["User-Agent"] = user_agent
        self.throttle = Throttle(per_minute)
        self.limiter = AdaptiveLimiter(max_parallel)
        self.retry = RetryPolicy(max_retries, backoff_seconds, self.throttle, limiter=self.limiter)

    def entity_url(self, entity: str = "") -> str:
        return f"{self.root}/entity/{entity + '/' if entity else ''}"

    def get_json(
        self,
        url: str,
        *,
        what: str,
        params: t.Mapping[str, t.Any] | None = None,
        adaptive: bool = False,
    ) -> t.Any:
        """GET with retries; None for a 404. `params` are encoded onto `url`; a list's
        `next_page` link is passed as `url` without params, so it is followed verbatim (the
        readers pass only links on base_url's origin, and the session refuses any other).
        `adaptive`: see `RetryPolicy.call`."""

        def attempt() -> requests.Response:
            request = requests.Request(
                "GET", url, params=params, headers={"Accept": "application/json"}
            )
            prepared = self.authenticator(self.session.prepare_request(request))
            response = self.session.send(prepared, timeout=self.timeout)
            check_response(response, what=what, who=self.who, warned=self._warned)
            return response

        return payload_of(self.retry.call(attempt, url=url, adaptive=adaptive))

    def catalogue(self, what: str = "the entity catalogue") -> list[str]:
        """Entity names from `GET .../entity/`; tolerant of the undocumented shape."""
        body = self.get_json(self.entity_url(), what=what)
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            body = body["results"]
        if isinstance(body, dict):
            return sorted(str(name) for name in body)
        names: list[str] = []
        for item in body or []:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and item.get("name"):
                names.append(str(item["name"]))
        return sorted(names)

    def describe(self, entity: str) -> dict[str, t.Any]:
        body = self.get_json(self.entity_url(entity) + "describe/", what=f"entity '{entity}'")
        if not isinstance(body, dict):
            msg = f"describe of entity '{entity}' returned no field list"
            raise WMSRequestError(msg)
        return body
