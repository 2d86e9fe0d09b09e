"""The tap: settings checks, the shared WMS connection, and one stream per entity.

Settings are checked in `discover_streams`, which the SDK runs while constructing
the tap, i.e. before any SCHEMA, RECORD or STATE is written; the unknown-entity
check needs the tenant's catalogue and so costs one request at start.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_oracle_wms.auth import build_authenticator, principal
from tap_oracle_wms.client import WMSClient
from tap_oracle_wms.discovery_cache import CachedCatalog
from tap_oracle_wms.fetcher import Fetcher
from tap_oracle_wms.progress import Progress, from_config
from tap_oracle_wms.schema import describe_to_schema
from tap_oracle_wms.settings import (
    CONFIG_SCHEMA,
    DEFAULT_ENTITIES,
    DEFAULT_MAX_PARALLEL,
    DEFAULT_TIMEOUT,
    api_root,
    check_entities,
    check_settings,
)
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.writer import WMSMessageWriter

DESCRIBE_WORKERS = 8


class TapOracleWMS(Tap):
    """Singer tap for Oracle WMS Cloud (lgfapi v10)."""

    name = "tap-oracle-wms"
    package_name = "wms-oracle-pipeline"  # the distribution both plugins ship in (version, --about)
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = WMSMessageWriter
    #: Set by `cli.main` when this `--discover` may fill the discovery cache.
    discovery_cache: CachedCatalog | None = None

    @cached_property
    def client(self) -> WMSClient:
        config = self.config
        return WMSClient(
            root=api_root(config["base_url"]),
            authenticator=build_authenticator(config),
            who=principal(config),
            timeout=float(config.get("timeout", DEFAULT_TIMEOUT)),
            max_retries=int(config.get("max_retries", 5)),
            backoff_seconds=float(config.get("retry_backoff_seconds", 1.0)),
            per_minute=config.get("max_requests_per_minute"),
            max_parallel=self.max_parallel,
        )

    @property
    def max_parallel(self) -> int:
        return int(self.config.get("max_parallel_requests") or DEFAULT_MAX_PARALLEL)

    @cached_property
    def fetcher(self) -> Fetcher:
        client = self.client
        return Fetcher(
            client.get_json,
            workers=self.max_parallel,
            max_retries=client.retry.max_retries,
            backoff=lambda attempt: client.retry.delay(attempt, None),
        )

    @cached_property
    def progress(self) -> Progress:
        return from_config(self.config, os.environ)

    def sync_all(self) -> None:
        """Plan every selected entity before the first stream is written, so their reads
        overlap: id bounds are asked for all entities at once, then readers are added in
        stream order (the order the SDK writes the streams in)."""
        streams = [
            s for s in self.streams.values() if isinstance(s, EntityStream) and s.selected
        ]
        progress = self.progress
        for stream in streams:
            progress.plan(stream.entity)
        progress.start()
        succeeded = False
        try:
            if len(streams) > 1:
                workers = min(len(streams), self.max_parallel)
                with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                    list(pool.map(EntityStream.find_bounds, streams))
            for stream in streams:
                stream.prepare()
            if progress.enabled:
                self._count_in_background(streams)
            super().sync_all()
            succeeded = True
        finally:
            progress.stop(succeeded=succeeded)
            if "fetcher" in self.__dict__:
                self.fetcher.close()

    def _count_in_background(self, streams: t.Sequence[EntityStream]) -> None:
        """Totals not learnt while planning (incremental, resumed snapshot), asked while the
        first pages are read: the run does not wait for them."""

        progress = self.progress

        def count() -> None:
            for stream in streams:
                if progress.stopped:  # the run is over: no request, no log line at exit
                    return
                try:
                    stream.count_total()
                except Exception as exc:  # only the percent is lost
                    if not progress.stopped:
                        self.logger.info("No row count for '%s' (%s): progress without "
                                         "percent", stream.entity, exc)

        threading.Thread(target=count, name="wms-progress-count", daemon=True).start()

    @cached_property
    def _schemas(self) -> dict[str, dict]:
        return {}

    @cached_property
    def _schema_lock(self) -> threading.Lock:
        return threading.Lock()

    @property
    def entities(self) -> list[str]:
        return list(self.config.get("entities") or DEFAULT_ENTITIES)

    def describe_schema(self, entity: str) -> dict:
        """JSON Schema of an entity, described at most once per run."""
        with self._schema_lock:
            cached = self._schemas.get(entity)
        if cached is None:
            cached = describe_to_schema(self.client.describe(entity))
            with self._schema_lock:
                self._schemas.setdefault(entity, cached)
        return cached

    def _describe_all(self, entities: t.Sequence[str]) -> None:
        """Discovery of hundreds of entities: describe them concurrently."""
        missing = [e for e in entities if e not in self._schemas]
        if len(missing) < 2:
            return
        with concurrent.futures.ThreadPoolExecutor(DESCRIBE_WORKERS) as pool:
            list(pool.map(self.describe_schema, missing))

    def run_discovery(self) -> str:
        """Print the catalog, and keep it for the next `--discover` when the cache is on.
        A cache that cannot be written costs the next run a discovery, not this one."""
        text = super().run_discovery()
        cache = self.discovery_cache
        if cache is not None:
            try:
                cache.store(text)
            except OSError as exc:
                self.logger.warning("Discovery cache not written to %s: %s", cache.path, exc)
        return text

    def discover_streams(self) -> list[EntityStream]:
        errors = check_settings(self.config)
        if errors:
            self._fail(errors)
        entities = self.entities
        catalogue = self.client.catalogue(what=f"the entity catalogue (for entities {entities})")
        errors = check_entities(entities, set(catalogue))
        if errors:
            self._fail(errors)
        if self.input_catalog is None:
            # --discover or a run without catalog: every stream needs its schema now.
            self._describe_all(entities)
        who = principal(self.config)
        streams = [EntityStream(self, entity, self.client, who) for entity in entities]
        if self.config.get("enable_incremental"):
            self._check_replication_key(streams)
        return streams

    def _check_replication_key(self, streams: t.Sequence[EntityStream]) -> None:
        key = self.config.get("replication_key") or "mod_ts"
        selected = {
            entry.tap_stream_id
            for entry in (self.input_catalog.streams if self.input_catalog else [])
            if entry.metadata.root.selected is not False
        }
        errors = [
            f"replication_key '{key}' is not a field of entity '{stream.entity}'"
            for stream in streams
            if (self.input_catalog is None or stream.name in selected)
            and key not in stream.schema.get("properties", {})
        ]
        if errors:
            self._fail(errors)

    def _fail(self, errors: list[str]) -> t.NoReturn:
        message = "Invalid tap-oracle-wms settings: " + "; ".join(errors)
        raise ConfigValidationError(message, errors=errors)


if __name__ == "__main__":
    TapOracleWMS.cli()
