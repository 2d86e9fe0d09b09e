"""Settings of the tap: the JSON Schema users see in `--about`, plus the checks
JSON Schema cannot express (cross-field requirements, URL shape, entity names).

Every check returns messages instead of raising, so that a user with three mistakes
sees all three in one run, before any record is emitted.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_oracle_wms.sensitive import SECRET_SETTINGS as SECRET_SETTINGS  # re-exported

DEFAULT_ENTITIES: tuple[str, ...] = ("allocation", "order_hdr", "order_dtl")
MAX_PAGE_SIZE = 1250
DEFAULT_OAUTH_SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"
API_PATH = "wms/lgfapi/v10"
#: Oracle's gateway answers 504 to any call running past 5 minutes: wait a little longer,
#: so that answer arrives (and the tap shrinks its query) instead of our own blind timeout.
DEFAULT_TIMEOUT = 330
#: Polite: the WMS application tier also serves the warehouse floor and publishes no rate
#: limit. 4 requests in flight read ~4x faster than one; the adaptive limit halves it at
#: the first 429/503/504/timeout. Raise it for a tenant known to have room.
DEFAULT_MAX_PARALLEL = 4

CONFIG_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property(
        "base_url",
        th.StringType,
        required=True,
        description="Tenant URL, e.g. https://ta29.wms.ocs.oraclecloud.com/acme_prod "
        "(the API lives under {base_url}/wms/lgfapi/v10/entity/).",
    ),
    th.Property(
        "auth_method",
        th.StringType,
        default="basic",
        allowed_values=["basic", "oauth2"],
    ),
    th.Property("username", th.StringType, description="WMS user (Basic auth)."),
    th.Property("password", th.StringType, secret=True),
    th.Property("oauth_token_url", th.StringType, description="IDCS token endpoint."),
    th.Property("oauth_client_id", th.StringType),
    th.Property("oauth_client_secret", th.StringType, secret=True),
    th.Property("oauth_scope", th.StringType, default=DEFAULT_OAUTH_SCOPE),
    th.Property(
        "entities",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_ENTITIES),
        description="WMS entities to extract; one stream per entity.",
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=1000,
    ),
    th.Property(
        "page_mode",
        th.StringType,
        default="sequenced",
        allowed_values=["sequenced", "paged"],
    ),
    th.Property("enable_incremental", th.BooleanType, default=False),
    th.Property("replication_key", th.StringType, default="mod_ts"),
    th.Property("start_date", th.DateTimeType, description="Lower bound without a bookmark."),
    th.Property(
        "lookback_minutes",
        th.NumberType(minimum=0),
        default=5,
        description="Overlap re-read below the bookmark, for late commits.",
    ),
    th.Property(
        "timeout",
        th.NumberType(exclusive_minimum=0),
        default=DEFAULT_TIMEOUT,
        description="Read timeout per request, seconds. Over the gateway's 300 s so its 504 "
        "arrives; a page taking over half of it makes the next pages smaller.",
    ),
    th.Property(
        "max_parallel_requests",
        th.IntegerType(minimum=1, maximum=64),
        default=DEFAULT_MAX_PARALLEL,
        description="Most requests in flight at once, across all entities (the limit halves "
        "on 429/503/504/timeouts and grows back by one per round of healthy answers).",
    ),
    th.Property(
        "min_partition_ids",
        th.IntegerType(minimum=1),
        default=2000,
        description="A full sync splits an entity into up to 2 x max_parallel_requests id "
        "ranges read at once, none narrower than this many ids.",
    ),
    th.Property(
        "incremental_window_hours",
        th.NumberType(exclusive_minimum=0),
        default=24,
        description="First width of the bounded mod_ts windows of an incremental run; it "
        "doubles while windows are sparse and halves on 504s, timeouts and crowded windows.",
    ),
    th.Property("max_retries", th.IntegerType(minimum=0), default=5),
    th.Property(
        "retry_backoff_seconds",
        th.NumberType(minimum=0),
        default=1.0,
        description="First backoff wait; doubles per retry (with jitter).",
    ),
    th.Property(
        "max_requests_per_minute",
        th.NumberType(exclusive_minimum=0),
        description="Optional client-side throttle across all entities.",
    ),
    th.Property(
        "sentinel_fks",
        th.StringType,
        default="null",
        allowed_values=["null", "keep"],
        description='What the warehouse holds for WMS\'s "no relation" FKs (id 0, no url, key '
        '"-----------" or "*"): null (default; like a null FK, so joins and NOT NULL checks '
        "see no relation) or keep (id 0 and the placeholder key). Id 0 with a real url is a real "
        "row and always kept.",
    ),
    th.Property(
        "entity_filters",
        th.ObjectType(additional_properties=th.ObjectType(additional_properties=True)),
        description='Extra lgfapi filters per entity: {"order_hdr": {"facility_id__code": "F1"}}',
    ),
    th.Property(
        "prefetch_pages",
        th.BooleanType,
        default=False,
        description="Superseded by max_parallel_requests (pages are always fetched ahead by "
        "the fetcher's workers); accepted and ignored.",
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(minimum=0),
        default=15,
        description="Seconds between progress lines (percent, rows/s, ETA per entity and for "
        "the run) and updates of the progress file named by WMS_PROGRESS_FILE; 0: off.",
    ),
    th.Property(
        "discovery_cache_hours",
        th.NumberType(minimum=0),
        default=0,
        description="Serve `--config FILE --discover` from a catalog cached for this many hours, "
        "without starting the SDK (0: off). Fields WMS gains meanwhile are still loaded.",
    ),
    th.Property(
        "discovery_cache_dir",
        th.StringType,
        description="Directory of cached catalogs; default $MELTANO_SYS_DIR_ROOT/cache/"
        "tap-oracle-wms (no cache outside Meltano without it).",
    ),
).to_dict()


def api_root(base_url: str) -> str:
    """The `.../wms/lgfapi/v10` prefix; kept in one place so a v11 move is one edit."""
    return f"{base_url.rstrip('/')}/{API_PATH}"


def check_settings(config: t.Mapping[str, t.Any]) -> list[str]:
    """Cross-field and format checks that must fail before any request is made."""
    errors: list[str] = []
    base_url = str(config.get("base_url") or "")
    parsed = urlparse(base_url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc or " " in base_url:
        errors.append(
            f"base_url {base_url!r} is not a valid http(s) URL "
            "(expected e.g. https://ta29.wms.ocs.oraclecloud.com/acme_prod)",
        )
    elif "/wms/lgfapi" in parsed.path:
        errors.append(
            "base_url must be the tenant URL without the API path "
            f"(drop '/wms/lgfapi/...' from {base_url!r})",
        )
    method = config.get("auth_method", "basic")
    if method == "basic":
        errors.extend(
            f"auth_method 'basic' needs setting '{name}'"
            for name in ("username", "password")
            if not config.get(name)
        )
    elif method == "oauth2":
        errors.extend(
            f"auth_method 'oauth2' needs setting '{name}'"
            for name in ("oauth_token_url", "oauth_client_id", "oauth_client_secret")
            if not config.get(name)
        )
    entities = list(config.get("entities") or DEFAULT_ENTITIES)
    if len(set(entities)) != len(entities):
        errors.append(f"entities lists a name twice: {entities}")
    filters = config.get("entity_filters") or {}
    errors.extend(
        f"entity_filters names '{name}', which is not in entities {entities}"
        for name in filters
        if name not in entities
    )
    return errors


def check_entities(entities: t.Iterable[str], catalogue: t.Collection[str]) -> list[str]:
    """Unknown entities are caught here, against the tenant's own catalogue."""
    return [
        f"unknown entity '{name}' (not in the WMS entity catalogue; "
        f"{len(catalogue)} entities are available)"
        for name in entities
        if name not in catalogue
    ]
