"""One stream per WMS entity, built on the SDK's RESTStream through its small hooks.

Sync modes:
- incremental: `<rk>__gte = bookmark - lookback`, `ordering=<rk>,id`; sorted, so the
  bookmark in every STATE is resumable. The bookmark is monotonic and clamped to the
  run's start instant (rows committed during the run are re-read next time).
- full: `ordering=id`; `full_progress = {last_id, version}` in state lets an
  interrupted snapshot resume with `id__gt`; ACTIVATE_VERSION before the first and
  after the last record; a finished snapshot drops `full_progress`.
"""

from __future__ import annotations

import concurrent.futures
import time
import typing as t
from datetime import UTC, datetime, timedelta

from singer_sdk import RESTStream
from singer_sdk.helpers._catalog import get_selected_schema
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_oracle_wms.client import WMSRequestError, check_response, payload_of
from tap_oracle_wms.records import RecordPlan, to_utc, utc_text
from tap_oracle_wms.schema import add_missing_properties

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap

    from tap_oracle_wms.client import WMSClient

FULL_PROGRESS = "full_progress"
PROGRESS_LOG_SECONDS = 10.0


class EntityStream(RESTStream[str]):
    """A WMS entity (`order_hdr`, ...) as a Singer stream keyed on `id`."""

    def __init__(self, tap: Tap, entity: str, client: WMSClient, who: str) -> None:
        self.entity = entity
        self.client = client
        self.who = who
        self._describe: t.Callable[[str], dict] = tap.describe_schema  # type: ignore[attr-defined]
        self._catalog_schema_with_drift: dict | None = None
        super().__init__(tap=tap, name=entity, schema=None)
        self.primary_keys = ["id"]
        if self.config.get("enable_incremental"):
            self.replication_key = self.config.get("replication_key") or "mod_ts"
        # A STATE per page: state emitted on failure is at most one page behind.
        self.STATE_MSG_FREQUENCY = int(self.config.get("page_size", 1000))
        self._plan: RecordPlan | None = None
        self._run_start = utc_text(datetime.fromtimestamp(self._initialized_at / 1000, UTC))
        self._ceiling: t.Any = None  # the run start, for timestamp replication keys
        self._extracted_at: datetime | None = None
        self._full_progress: dict[str, t.Any] | None = None
        self._resume_after_id: t.Any = None
        self._high_water: str | None = None  # newest mod_ts of a full snapshot
        self._lower_bound: str | None = None
        self._pages = 0
        self._records = 0
        self._started = 0.0
        self._last_log = 0.0

    # --- schema: described lazily, so unselected entities never cost a request ---

    @property
    def schema(self) -> dict:
        if self._schema is None:
            self._schema = self._describe(self.entity)
        return self._schema

    @property
    def effective_schema(self) -> dict:
        """The input catalog's schema plus the fields WMS describes that it lacks.

        The SDK would use the catalog's schema alone, so a field WMS gained since the
        catalog was made (or cached, see `discovery_cache`) would be dropped silently.
        Without an input catalog this is the described schema, as in the SDK.
        """
        if self._input_schema is None:
            return self.schema
        if self._catalog_schema_with_drift is None:
            self._catalog_schema_with_drift = self._merge_drift(self._input_schema)
        return self._catalog_schema_with_drift

    def _merge_drift(self, catalog_schema: dict) -> dict:
        merged, added = add_missing_properties(catalog_schema, self.schema)
        if not added:
            return merged
        self.logger.warning(
            "entity '%s': %d field(s) described by WMS but missing from the catalog, "
            "loaded as described: %s; rerun discovery to refresh it",
            self.entity,
            len(added),
            ", ".join(added),
        )
        # The tap registered the catalog's schema with its mapper at start; the SCHEMA
        # message and any stream map are built from that registration, so renew it.
        self._tap.mapper.register_raw_stream_schema(
            self.name, get_selected_schema(self.name, merged, self.mask), self.primary_keys
        )
        self._stream_maps = None
        return merged

    def _write_schema_message(self) -> None:
        """Merge the drift before the SCHEMA message: it is the first thing `sync` writes,
        before anything else reads `effective_schema`."""
        _ = self.effective_schema  # merged once, cached
        super()._write_schema_message()

    @property
    def is_sorted(self) -> bool:
        return True

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK's own marker (start only, version in seconds) is replaced by ours.
        return False

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The clamp to the run start is applied in `_increment_stream_state`.
        return None

    # --- HTTP hooks ---

    @property
    def url_base(self) -> str:
        return self.client.root

    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/entity/{self.entity}/"

    def get_url(self, context: Context | None) -> str:
        return self.client.entity_url(self.entity)

    @property
    def requests_session(self) -> requests.Session:
        return self.client.session

    @property
    def authenticator(self) -> t.Any:
        return self.client.authenticator

    @property
    def timeout(self) -> int:
        return self.client.timeout  # type: ignore[return-value]

    @property
    def user_agent(self) -> str:
        return "tap-oracle-wms"

    def request_decorator(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        retry = self.client.retry

        def with_retries(prepared: requests.PreparedRequest, context: Context | None) -> t.Any:
            return retry.call(func, prepared, context, url=prepared.url)

        return with_retries

    def validate_response(self, response: requests.Response) -> None:
        check_response(response, what=f"entity '{self.entity}'", who=self.who)

    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        params: dict[str, t.Any] = {
            "page_size": self.config.get("page_size", 1000),
            "page_mode": self.config.get("page_mode", "sequenced"),
        }
        params.update((self.config.get("entity_filters") or {}).get(self.entity, {}))
        if self.replication_key:
            params["ordering"] = f"{self.replication_key},id"
            if self._lower_bound:
                params[f"{self.replication_key}__gte"] = self._lower_bound
        else:
            params["ordering"] = "id"
            if self._resume_after_id is not None:
                params["id__gt"] = self._resume_after_id
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        if page.next_page_token:  # follow `next_page` exactly as given
            return HTTPRequest(url=page.next_page_token, headers=self.http_headers)
        return super().get_http_request(page=page)

    def _prepared(self, context: Context | None, token: str | None) -> requests.PreparedRequest:
        request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=token)
        )
        return self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
        )

    def _fetch(self, context: Context | None, token: str | None) -> requests.Response:
        return self.request_decorator(self._request)(self._prepared(context, token), context)

    def _responses(self, context: Context | None) -> t.Iterator[requests.Response]:
        """Pages in order; with prefetch, page N+1 is in flight while N is emitted."""
        seen: set[str] = set()
        if not self.config.get("prefetch_pages", False):
            token: str | None = None
            while True:
                response = self._fetch(context, token)
                yield response
                token = self._next_page(response, seen)
                if not token:
                    return
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"wms-{self.name}")
        try:
            future = pool.submit(self._fetch, context, None)
            while future is not None:
                response = future.result()
                token = self._next_page(response, seen)
                future = pool.submit(self._fetch, context, token) if token else None
                yield response
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _next_page(self, response: requests.Response, seen: set[str]) -> str | None:
        payload = payload_of(response)
        token = payload.get("next_page") if isinstance(payload, dict) else None
        if token and token in seen:
            msg = f"Pagination loop on entity '{self.entity}': next_page repeats {token}"
            raise WMSRequestError(msg)
        if token:
            seen.add(token)
        return token

    def request_records(self, context: Context | None) -> t.Iterable[dict]:
        self._pages = self._records = 0
        self._started = self._last_log = time.monotonic()
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            for response in self._responses(context):
                counter.increment()
                yield from self.parse_response(response)
        self._log_progress(final=True)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        payload = payload_of(response)  # parsed once, in `validate_response`
        if payload is None:  # 404: the filter matched nothing
            return []
        results = payload.get("results", []) if isinstance(payload, dict) else payload
        if self._plan is None:
            self._plan = self._build_plan()
        self._extracted_at = utc_now()
        self._pages += 1
        self._records += len(results)
        self._log_progress()
        return self._plan.flatten_page(results)

    def _build_plan(self) -> RecordPlan:
        properties = self.effective_schema.get("properties", {})
        mask = self.mask
        selected = {
            name: prop
            for name, prop in properties.items()
            if mask[("properties", name)] or name in self.primary_keys
        }
        return RecordPlan(selected)

    def _log_progress(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_log < PROGRESS_LOG_SECONDS:
            return
        self._last_log = now
        elapsed = max(now - self._started, 1e-6)
        self.logger.info(
            "%s '%s': %d pages, %d records, %.0f records/s",
            "Finished" if final else "Progress",
            self.entity,
            self._pages,
            self._records,
            self._records / elapsed,
        )

    # --- sync modes and state ---

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        if self.replication_key:
            self._lower_bound = self._incremental_lower_bound()
            self._ceiling = self._run_start if self.is_timestamp_replication_key else None
            self.logger.info(
                "Incremental '%s' from %s__gte=%s (run start %s)",
                self.entity,
                self.replication_key,
                self._lower_bound,
                self._run_start,
            )
            yield from self.request_records(context)
            return
        state = self.stream_state
        progress = state.get(FULL_PROGRESS) or {}
        version = int(progress.get("version") or self._initialized_at)
        self._resume_after_id = progress.get("last_id")
        self._stream_version = version
        self._full_progress = {"last_id": self._resume_after_id, "version": version}
        state[FULL_PROGRESS] = self._full_progress
        self.logger.info(
            "Full sync of '%s', version %d%s",
            self.entity,
            version,
            f", resuming after id {self._resume_after_id}" if self._resume_after_id else "",
        )
        self._write_activate_version_message(version)  # start marker
        yield from self.request_records(context)
        # Only reached once the last record was written: the snapshot is complete.
        self._write_activate_version_message(version)  # end marker
        state.pop(FULL_PROGRESS, None)
        if self._high_water:
            # Where an incremental pipeline may start after this snapshot (orchestrate
            # copies it when the incremental has no bookmark yet): capped at the start of
            # the snapshot's first attempt (its version), so rows changed while any part
            # of the snapshot was being read are fetched again.
            snapshot_start = utc_text(datetime.fromtimestamp(version / 1000, UTC))
            state["replication_key"] = self._full_high_water_key
            state["replication_key_value"] = min(self._high_water, snapshot_start)
        self.state_manager.is_flushed = False

    def _incremental_lower_bound(self) -> str | None:
        state = self.stream_state
        bookmark = state.get("replication_key_value")
        if state.get("replication_key") not in (None, self.replication_key):
            bookmark = None  # the key changed: start over
        lower: datetime | None = None
        if bookmark:
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = to_utc(str(bookmark))
            minutes = float(self.config.get("lookback_minutes", 5))
            lower = datetime.fromisoformat(state["replication_key_value"]) - timedelta(
                minutes=minutes
            )
        if start := self.config.get("start_date"):
            start_at = datetime.fromisoformat(to_utc(str(start)))
            lower = start_at if lower is None else max(lower, start_at)
        return utc_text(lower) if lower else None

    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        """Bookmarks as instants, monotonic and clamped to the run start; full-sync
        progress by id. Replaces the SDK's version, which compares raw values and
        would reject the lookback overlap as "unsorted"."""
        key = self.replication_key
        if key:
            value = latest_record.get(key)
            if value is None:
                return
            if self._ceiling is not None and value > self._ceiling:
                value = self._ceiling
            state = self.stream_state
            current = state.get("replication_key_value")
            if current is None or value > current:
                state["replication_key"] = key
                state["replication_key_value"] = value
        elif self._full_progress is not None:
            self._full_progress["last_id"] = latest_record["id"]
            value = latest_record.get(self._full_high_water_key)
            if value is not None and (self._high_water is None or value > self._high_water):
                self._high_water = value

    @property
    def _full_high_water_key(self) -> str:
        return self.config.get("replication_key") or "mod_ts"

    def _generate_record_messages(self, record: dict[str, t.Any]) -> t.Iterator[RecordMessage]:
        """Records are conformant and selection-filtered by their `RecordPlan`, so the
        SDK's per-record `pop_deselected_record_properties` and type conformance
        (about half of a default SDK tap's time) are skipped; stream maps still apply."""
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=self._extracted_at,
                )
