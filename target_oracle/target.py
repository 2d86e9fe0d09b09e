"""``target-oracle``: settings and the few SDK hooks the load semantics need."""

from __future__ import annotations

import typing as t
from collections import Counter

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql import SQLTarget

from target_oracle.connector import NO_CONNECTION
from target_oracle.quarantine import TooManyRejects
from target_oracle.rules import RuleError, compile_rules
from target_oracle.sinks import OracleSink
from target_oracle.snapshots import SnapshotState
from target_oracle.stdin import UNSTORABLE, ReadAheadReader


class TargetOracle(SQLTarget):
    """Singer target for Oracle (python-oracledb thin) with an embedded SQLite backend."""

    name = "target-oracle"
    package_name = "wms-oracle-pipeline"  # the distribution both plugins ship in (version, --about)
    default_sink_class = OracleSink
    #: msgspec parses JSON numbers with a fraction as ``Decimal`` (exact), and is fast.
    message_reader_class = ReadAheadReader

    config_jsonschema = th.PropertiesList(
        th.Property("sqlalchemy_url", th.StringType, secret=True,
                    description="oracle+oracledb://… or sqlite:///… (overrides the parts)"),
        th.Property("host", th.StringType, description="Oracle host"),
        th.Property("port", th.IntegerType, default=1521, description="Oracle listener port"),
        th.Property("service_name", th.StringType, description="Oracle service name"),
        th.Property("username", th.StringType, description="Oracle user"),
        th.Property("password", th.StringType, secret=True, description="Oracle password"),
        th.Property("protocol", th.StringType, default="tcp", allowed_values=["tcp", "tcps"],
                    description="tcp, or tcps for TLS"),
        th.Property("dsn", th.StringType,
                    description="Connect descriptor or TNS alias; overrides host/port/service"),
        th.Property("wallet_location", th.StringType,
                    description="Wallet directory (Autonomous Database)"),
        th.Property("wallet_password", th.StringType, secret=True,
                    description="Wallet password (Autonomous Database)"),
        th.Property("table_prefix", th.StringType, default="",
                    description="Prefix of every table name, e.g. WMS_"),
        th.Property("version_column", th.StringType,
                    description="Column that decides which row is newer (default: the "
                    "stream's bookmark_properties, else mod_ts)"),
        th.Property("use_direct_path", th.BooleanType, default=False,
                    description="Oracle append-only: load snapshots by direct path"),
        th.Property("max_rejects", th.IntegerType, default=0,
                    description="Fail the run (after loading) when rejects exceed this"),
        th.Property("business_rules", th.ObjectType(additional_properties=True),
                    description='Per stream, e.g. {"allocation": ["alloc_qty >= 0"]}'),
        th.Property("pipeline_name", th.StringType,
                    description="Pipeline name for LOAD_AUDIT (default adhoc)"),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.config
        if not (cfg.get("sqlalchemy_url") or cfg.get("dsn") or cfg.get("host")):
            raise ConfigValidationError(NO_CONNECTION, errors=[NO_CONNECTION])
        pipeline = str(cfg.get("pipeline_name") or "")
        if len(pipeline.encode()) > 64:
            msg = (f"pipeline_name is {len(pipeline.encode())} bytes; LOAD_AUDIT.PIPELINE "
                   "holds at most 64 bytes (VARCHAR2(64)): use a shorter name")
            raise ConfigValidationError(msg, errors=[msg])
        for stream, rules in (cfg.get("business_rules") or {}).items():
            try:
                compile_rules(list(rules))
            except RuleError as exc:
                msg = f"business_rules[{stream}]: {exc}"
                raise ConfigValidationError(msg, errors=[msg]) from exc
        self.max_parallelism = 1  # one held connection; SQLite has one writer anyway
        self.bookmark_properties: dict[str, list[str]] = {}
        self.current_record_version: int | None = None
        #: Properties of the current RECORD holding lone surrogates (see ``stdin.py``).
        self.current_record_unstorable: list[str] | None = None
        self._snapshots: dict[str, SnapshotState] = {}
        self._rejects: Counter[str] = Counter()

    def snapshot_state(self, stream: str) -> SnapshotState:
        """Marker bookkeeping per stream, surviving sink re-creation on schema change."""
        state = self._snapshots.get(stream)  # per record: no throw-away SnapshotState
        if state is None:
            state = self._snapshots[stream] = SnapshotState()
        return state

    def count_reject(self, table: str) -> None:
        self._rejects[table] += 1

    # SDK hooks -----------------------------------------------------------------------
    def _process_schema_message(self, message_dict: dict) -> None:
        """Remember ``bookmark_properties`` (the SDK does not hand them to sinks)."""
        self.bookmark_properties[message_dict.get("stream", "")] = list(
            message_dict.get("bookmark_properties") or [])
        super()._process_schema_message(message_dict)

    def _process_record_message(self, message_dict: dict) -> None:
        """Expose the RECORD's ``version`` (snapshot routing) and its unstorable texts
        (quarantine) to the sink."""
        self.current_record_version = message_dict.get("version")
        self.current_record_unstorable = message_dict.get(UNSTORABLE)
        super()._process_record_message(message_dict)

    def get_sink(self, stream_name: str, *, record: dict | None = None,
                 schema: dict | None = None,
                 key_properties: t.Sequence[str] | None = None) -> t.Any:
        """Drain the old sink *before* a new schema's sink takes over the stream.

        Otherwise its rows would wait for the next full drain and could miss a publish.
        """
        if schema is None:  # every RECORD: the SDK's own answer, without the checks below
            return self._sinks_active[stream_name]
        existing = self._sinks_active.get(stream_name)
        if existing is not None and (
            existing.schema != schema or existing.key_properties != key_properties
        ):
            self.drain_one(existing)
        return super().get_sink(stream_name, record=record, schema=schema,
                                key_properties=key_properties)

    def process_endofpipe(self) -> None:
        """Drain, finish ``overwrite`` swaps, emit STATE; then enforce ``max_rejects``."""
        for sink in list(self._sinks_active.values()):
            self.drain_one(sink)
            if isinstance(sink, OracleSink):
                sink.finish_overwrite()
        super().process_endofpipe()
        if self._target_connector is not None:
            self._target_connector.dispose()
        total = sum(self._rejects.values())
        limit = int(self.config.get("max_rejects") or 0)
        if total > limit:
            detail = ", ".join(f"{tbl}: {n}" for tbl, n in sorted(self._rejects.items()))
            raise TooManyRejects(
                f"{total} record(s) rejected, more than max_rejects={limit} ({detail}); "
                "the rest of the input was loaded"
            )


if __name__ == "__main__":
    TargetOracle.cli()
