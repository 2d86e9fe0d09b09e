"""One stream per WMS entity, built on the SDK's RESTStream through its small hooks.

Reading is not done through the SDK's request loop: each stream hands readers to the run's
`Fetcher` (worker threads, bounded in-flight requests) and writes the pages they bring, so
this thread alone writes Singer messages, in order.

Sync modes:
- incremental: bounded `mod_ts` windows from `bookmark - lookback` (`windows.py`), read in
  `mod_ts,id` order (the sort stays as small as the window); a wide span (a first run from
  an old start_date) as sub-spans read at once. The bookmark moves once all of a window's
  rows were written and every window before it too, to the newest value written there,
  monotonic and capped at the run's start instant (rows committed during the run are
  re-read next time).
- full: the entity split into id ranges read at once (`partitions.py`), one snapshot
  version for all of them; `full_progress = {version, ranges}` in state holds the
  unfinished ranges with their last written id, so an interrupted snapshot resumes each
  where it stopped and never re-reads a finished one; ACTIVATE_VERSION before the first
  and after the last range; a finished snapshot drops `full_progress`.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta

from singer_sdk import RESTStream
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import RecordMessage

from tap_oracle_wms.growth import SchemaGrowth
from tap_oracle_wms.partitions import (
    describe_range,
    partition_count,
    plan_ranges,
    range_params,
    ranges_from_state,
)
from tap_oracle_wms.progress import count_rows, result_count
from tap_oracle_wms.readers import PageSizer, RangeReader, WindowReader
from tap_oracle_wms.records import RecordPlan, is_utc_text, to_utc, utc_text
from tap_oracle_wms.windows import CUT_AFTER_PAGES, Coverage, SpanPlan, WindowWalk, plan_spans

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_oracle_wms.client import WMSClient
    from tap_oracle_wms.fetcher import Feed, Fetcher
    from tap_oracle_wms.progress import Progress

FULL_PROGRESS = "full_progress"


class EntityStream(SchemaGrowth, RESTStream[str]):
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
        self._bounds: tuple[t.Any, t.Any] | None = None
        self._feeds: list[Feed] | None = None
        self._current_range: list | None = None  # the range whose records are being written
        self._high_water: str | None = None  # newest mod_ts of a full snapshot
        self._page_newest: t.Any = None  # newest replication key value of the page written
        self._coverage: Coverage | None = None  # incremental: windows written, the bookmark
        self._schema_grew = False  # a field describe lacks arrived: SCHEMA again
        self._count_params: list[dict[str, t.Any]] = []  # queries whose counts are the total

    @property
    def is_sorted(self) -> bool:
        return True

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK's own marker (start only, version in seconds) is replaced by ours.
        return False

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The cap at the run start is applied when a window closes (`_incremental_records`).
        return None

    # --- the SDK's HTTP hooks: requests go through `client` (see `fetcher.py`) ---

    @property
    def url_base(self) -> str:
        return self.client.root

    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/entity/{self.entity}/"

    # --- reading: plans of readers for the run's fetcher (see fetcher.py) ---

    @property
    def _fetcher(self) -> Fetcher:
        return self._tap.fetcher  # type: ignore[attr-defined]

    @property
    def _progress(self) -> Progress:
        return self._tap.progress  # type: ignore[attr-defined]

    def _base_params(self) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"page_mode": self.config.get("page_mode", "sequenced")}
        params.update((self.config.get("entity_filters") or {}).get(self.entity, {}))
        return params

    def _sizer(self) -> PageSizer:
        # A page taking over half the read timeout is a warning sign: shrink before the
        # next one crosses the gateway's limit.
        return PageSizer(int(self.config.get("page_size", 1000)), self.client.timeout / 2)

    @property
    def _what(self) -> str:
        return f"entity '{self.entity}'"

    def find_bounds(self) -> None:
        """The id bounds a fresh snapshot is split by: two one-row queries, cheap at any
        size (sent concurrently for all entities by the tap, before the first SCHEMA)."""
        if self.replication_key or self._bounds is not None:
            return
        if ranges_from_state(self.stream_state.get(FULL_PROGRESS) or {}) is not None:
            return  # resuming: the ranges are in the state
        url = self.client.entity_url(self.entity)
        base = {**self._base_params(), "page_size": 1}
        # In paged mode the answer also carries `result_count`: the total for progress.
        mode = {"page_mode": "paged"} if self._progress.enabled else {}
        first = self.client.get_json(url, params={**base, "ordering": "id", **mode},
                                     what=self._what)
        if mode:
            self._progress.set_total(self.entity, result_count(first))
        rows = _results(first)
        if not rows:
            self._warn_if_empty(first)
            self._bounds = (None, None)
            return
        last = self.client.get_json(url, params={**base, "ordering": "-id"}, what=self._what)
        high = _results(last)
        self._bounds = (rows[0]["id"], high[0]["id"] if high else rows[0]["id"])

    def count_total(self) -> None:
        """The rows this run will read, when `find_bounds` did not learn it: the rows at or
        after an incremental's lower bound, or those left in a resumed snapshot's ranges.
        Runs in the background; a failure only costs the percent."""
        if self._count_params:
            total = count_rows(self.client.get_json, self.client.entity_url(self.entity),
                               self._base_params(), self._count_params, self._what)
            self._progress.set_total(self.entity, total)

    def _warn_if_empty(self, payload: t.Any) -> None:
        if payload is None and not (self.config.get("entity_filters") or {}).get(self.entity):
            self.logger.warning(
                "entity '%s' answered 404 to an unfiltered list: it is empty, or not readable "
                "by %s (WMS answers both alike; check the user's lgfapi grants and facilities)",
                self.entity,
                self.who,
            )

    def prepare(self) -> None:
        """Add this stream's readers to the run's fetcher (once; in stream order)."""
        if self._feeds is not None:
            return
        if self.replication_key:
            self._prepare_incremental()
        else:
            self._prepare_full()

    def _prepare_full(self) -> None:
        state = self.stream_state
        progress = state.get(FULL_PROGRESS) or {}
        version = int(progress.get("version") or self._initialized_at)
        ranges = ranges_from_state(progress)
        resumed = ranges is not None
        if resumed:
            self._count_params = [range_params(r) for r in ranges]
        if ranges is None:
            self.find_bounds()
            low, high = self._bounds or (None, None)
            parts = partition_count(
                low,
                high,
                min_ids=int(self.config.get("min_partition_ids", 2000)),
                max_parts=2 * self._fetcher.workers,
            )
            ranges = plan_ranges(low, high, parts=parts)
        self._stream_version = version
        self._full_progress = {"version": version, "ranges": ranges}
        state[FULL_PROGRESS] = self._full_progress
        self.logger.info(
            "Full sync of '%s', version %d, %s %d id range(s): %s",
            self.entity,
            version,
            "resuming" if resumed else "reading",
            len(ranges),
            "; ".join(describe_range(r) for r in ranges[:8]) + (" ..." if len(ranges) > 8 else ""),
        )
        url = self.client.entity_url(self.entity)
        label = f"entity '{self.entity}'"
        self._feeds = [
            self._fetcher.add(RangeReader(url, self._base_params(), self._sizer(), label, rng,
                                          self.client.links), self._what)
            for rng in ranges
        ]

    def _prepare_incremental(self) -> None:
        lower_text = self._incremental_lower_bound()
        lower = datetime.fromisoformat(lower_text) if lower_text else None
        self._ceiling = self._run_start if self.is_timestamp_replication_key else None
        run_start = datetime.fromisoformat(self._run_start)
        lookback = timedelta(minutes=float(self.config.get("lookback_minutes", 5)))
        width = timedelta(hours=float(self.config.get("incremental_window_hours", 24)))
        horizon = run_start - lookback
        self._coverage = Coverage(lower)
        key = str(self.replication_key)
        self._count_params = [{f"{key}__gte": lower_text} if lower_text else {}]
        spans = plan_spans(lower, horizon, width, max_parts=2 * self._fetcher.workers)
        plan = SpanPlan(spans, width) if spans else None
        walks = plan.walks[:] if plan else [WindowWalk(lower, horizon, width)]
        self.logger.info(
            "Incremental '%s' from %s__gte=%s (run start %s), %s, windows of %s to start",
            self.entity,
            self.replication_key,
            lower_text,
            self._run_start,
            f"{len(walks)} sub-spans read at once" if plan else "one walk",
            walks[0].width,
        )
        url = self.client.entity_url(self.entity)
        label = f"entity '{self.entity}' by {self.replication_key} windows"
        readers = [
            WindowReader(url, self._base_params(), self._sizer(), label,
                         str(self.replication_key), walk, plan, self.client.links)
            for walk in walks
        ]
        # A lone reader's cursor is sequential: let it read a crowded window ahead while
        # the entities before it are written.
        ahead = None if plan else CUT_AFTER_PAGES
        self._feeds = [self._fetcher.add(r, self._what, ahead=ahead) for r in readers]

    def _flatten(self, results: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        if self._plan is None:
            self._plan = self._build_plan()
        self._extracted_at = utc_now()
        self._progress.add(self.entity, len(results))
        records = self._plan.flatten_page(results)
        if self._schema_grew:  # before the first record that carries the new field
            self._schema_grew = False
            self._write_schema_message()
        return records

    def _build_plan(self) -> RecordPlan:
        properties = self.effective_schema.get("properties", {})
        mask = self.mask
        selected = {
            name: prop
            for name, prop in properties.items()
            if mask[("properties", name)] or name in self.primary_keys
        }
        return RecordPlan(
            selected,
            self._on_new_field,
            null_sentinels=self.config.get("sentinel_fks", "null") == "null",
        )

    # --- sync modes and state ---

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        self.prepare()
        self._progress.plan(self.entity)
        if self.replication_key:
            yield from self._incremental_records()
        else:
            yield from self._full_records()
        self._progress.finish(self.entity)

    def _full_records(self) -> t.Iterator[dict[str, t.Any]]:
        assert self._full_progress is not None and self._feeds is not None
        version = self._full_progress["version"]
        ranges: list = self._full_progress["ranges"]
        state = self.stream_state
        self._write_activate_version_message(version)  # start marker
        for feed, page in self._fetcher.drain(self._feeds):
            self._current_range = feed.reader.range  # type: ignore[attr-defined]
            yield from self._flatten(page.results)
            if page.last:  # every record of the range written: it leaves the state
                ranges[:] = [r for r in ranges if r is not self._current_range]
                self.state_manager.is_flushed = False
        self._current_range = None
        # Only reached once the last record of every range was written: complete.
        self._write_activate_version_message(version)  # end marker, once
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

    def _incremental_records(self) -> t.Iterator[dict[str, t.Any]]:
        """The bookmark moves when a window is complete, and only as far as the windows
        written contiguously from the lower bound (`Coverage`): a STATE written inside a
        window, or while an earlier sub-span is unfinished, keeps the bookmark before it."""
        assert self._feeds is not None and self._coverage is not None
        state = self.stream_state
        newest: dict[int, t.Any] = {}  # per reader: newest value of its open window
        for feed, page in self._fetcher.drain(self._feeds):
            self._page_newest = None
            yield from self._flatten(page.results)
            key = id(feed)
            value = _newer(newest.get(key), self._page_newest)
            if not page.window_closed:
                newest[key] = value
                continue
            newest.pop(key, None)
            # Up to the newest change written below the first unwritten instant, never past
            # the run start: the next windows hold only newer rows, and the newest value
            # comes from the server's clock, not ours.
            mark = self._coverage.add(page.window_start, page.window_end, value)
            if mark is not None and self._ceiling is not None and mark > self._ceiling:
                mark = self._ceiling
            current = state.get("replication_key_value")
            if mark is not None and (current is None or mark > current):
                state["replication_key"] = self.replication_key
                state["replication_key_value"] = mark
                self.state_manager.is_flushed = False
                self._write_state_message()

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
            if self._ceiling is not None and not is_utc_text(value):
                value = None  # sent as it came (not an instant): never a bookmark
            self._page_newest = _newer(self._page_newest, value)
        elif self._current_range is not None:
            self._current_range[2] = latest_record["id"]
            value = latest_record.get(self._full_high_water_key)
            if is_utc_text(value) and (self._high_water is None or value > self._high_water):
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


def _newer(a: t.Any, b: t.Any) -> t.Any:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _results(payload: t.Any) -> list[dict[str, t.Any]]:
    if payload is None:
        return []
    return payload.get("results", []) if isinstance(payload, dict) else payload
