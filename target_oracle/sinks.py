"""How a batch is loaded: upsert, append-only snapshot (+ publish), overwrite.

* ``upsert``: one row per key per batch (greatest version column, then latest in the
  stream), then — Oracle: array-insert into a global temporary table, one audit
  ``INSERT … SELECT`` that counts, one ``MERGE`` (3 statements); SQLite: the counting audit
  insert and one ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE … WHERE newer``
  (2 statements). A stale record never overwrites a newer stored one.
* ``append-only``: records are array-inserted into ``<TABLE>_SNAP`` tagged with the
  snapshot version; the live table is only touched by :meth:`OracleSink.publish` on the
  snapshot's end marker (see :mod:`target_oracle.snapshots`). Records that arrive with no
  snapshot (no ACTIVATE_VERSION, no ``version``) are upserted, so nothing is stranded.
* ``overwrite``: staged like a snapshot and swapped in, in one transaction, at end of input.
"""

from __future__ import annotations

import operator
import typing as t
from collections.abc import Callable

import fastjsonschema
import msgspec
from singer_sdk.sql import SQLSink

from target_oracle import audit
from target_oracle import types as T
from target_oracle.connector import OracleConnector
from target_oracle.dialects import Column, RejectValue
from target_oracle.fastcheck import FastCheck
from target_oracle.naming import assign_column_names, conform_identifier
from target_oracle.quarantine import RejectBuffer, key_converter, reject_columns
from target_oracle.reasons import show
from target_oracle.rules import compile_rules
from target_oracle.snapshots import SnapshotMixin

_keys_json = msgspec.json.Encoder(decimal_format="number")
_SDC_KEYS = frozenset((
    "_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at",
    "_sdc_sequence", "_sdc_table_version", "_sdc_sync_started_at",
))


def _without_date_formats(schema: t.Any) -> t.Any:
    """Drop ``format: date(-time)``: column converters check those (faster, exactly once)."""
    if isinstance(schema, dict):
        return {k: _without_date_formats(v) for k, v in schema.items()
                if not (k == "format" and v in {"date-time", "date"})}
    if isinstance(schema, list):
        return [_without_date_formats(v) for v in schema]
    return schema


class OracleSink(SnapshotMixin, SQLSink[OracleConnector]):
    """One Singer stream → one live table (+ staging, snapshot and rejects tables)."""

    connector_class = OracleConnector

    def __init__(self, target: t.Any, stream_name: str, schema: dict,
                 key_properties: t.Sequence[str] | None, connector: t.Any = None) -> None:
        self._target_ref = target
        super().__init__(target, stream_name, schema, key_properties, connector)
        self._live_rows: list[tuple] = []
        self._snap_rows: list[tuple] = []
        self._rejects = RejectBuffer(stream_name, list(self._key_properties))
        self._rules = compile_rules(
            (self.config.get("business_rules") or {}).get(stream_name, [])
        )
        self._check: Callable[[dict], t.Any] | None = None
        if self.config.get("validate_records", True):
            try:
                self._check = fastjsonschema.compile(_without_date_formats(self.schema))
            except fastjsonschema.JsonSchemaDefinitionException:
                self.logger.warning("Schema of %s cannot be compiled; not validating",
                                    stream_name)

    # SDK hooks ---------------------------------------------------------------------
    def get_validator(self) -> None:  # type: ignore[override]
        """Validation happens in :meth:`process_record`, where a failure is quarantined."""
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        """Skip the SDK's per-key timestamp parsing: columns convert once, per type."""
        return record

    # Per-record SDK hooks, made O(1) per record. Each replaces a private SDK method (or a
    # property it reads per record) whose default re-derives, for every record, something
    # fixed for the sink's life; behaviour is the SDK's.
    @property
    def include_sdc_metadata_properties(self) -> bool:
        """The setting, read once (the SDK re-reads the config for every record)."""
        cached = self.__dict__.get("_include_sdc")
        if cached is None:
            cached = self.__dict__["_include_sdc"] = bool(
                self.config.get("add_record_metadata", False))
        return cached

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        """Private SDK hook: the SDK pops seven keys from every record; records without any
        ``_sdc_*`` key (all of ours) are left alone after one set test."""
        if not _SDC_KEYS.isdisjoint(record):
            super()._remove_sdc_metadata_from_record(record)

    def _singer_validate_message(self, record: dict) -> None:
        """Private SDK hook that raised ``MissingKeyPropertiesError`` for a record without its
        key, ending the whole load; such a record is quarantined in :meth:`process_record`
        instead (bad input loses nothing else)."""

    def _after_process_record(self, context: dict) -> None:
        """Private SDK hook whose default only formats a DEBUG log line per record."""

    @property
    def is_full(self) -> bool:
        """The SDK's test (``current_size >= max_size``) without two property hops."""
        size = self._batch_size_rows
        return self._batch_records_read >= (self.MAX_SIZE_DEFAULT if size is None else size)

    @property
    def load_method(self) -> str:
        return self._load_method

    def setup(self) -> None:
        """Name every column, pick the version column, create/evolve the tables."""
        d = self.connector.dialect
        props = list(self.schema["properties"])
        self.names = assign_column_names(props, upper=d.upper, max_bytes=d.max_ident_bytes)
        types = T.cap_key_types(
            {p: T.column_type(self.schema["properties"][p]) for p in props},
            list(self._key_properties))
        cols = [Column(self.names[p], p, types[p]) for p in props]
        deleted = "_SDC_DELETED_AT" if d.upper else "_sdc_deleted_at"
        if "_sdc_deleted_at" not in self.names:
            cols.append(Column(deleted, None, T.ColumnType(T.TIMESTAMP)))
        self.deleted_col = self.names.get("_sdc_deleted_at", deleted)
        self.keys = [self.names[k] for k in self._key_properties]
        vprop = self._version_property(props)
        self.version_col = self.names[vprop] if vprop else None
        prefix = str(self.config.get("table_prefix") or "")
        schema = self.config.get("default_target_schema") if d.name == "oracle" else None
        self.db_schema = conform_identifier(schema, upper=True) if schema else None

        def ident(suffix: str) -> str:
            return conform_identifier(f"{prefix}{self.stream_name}{suffix}", upper=d.upper,
                                      max_bytes=d.max_ident_bytes)

        self.table, self.snap_table = ident(""), ident("_snap")
        self.stg_table, self.rejects_table = ident("_stg"), ident("_rejects")
        self.audit_table = conform_identifier(f"{prefix}load_audit", upper=d.upper,
                                              max_bytes=d.max_ident_bytes)
        self.columns = self.connector.ensure_table(self.table, self.db_schema, cols, self.keys)
        if d.name == "oracle" and self.keys:
            self.connector.ensure_table(self.stg_table, self.db_schema, self.columns,
                                        temporary=True)
        self.connector.ensure_table(self.audit_table, self.db_schema,
                                    audit.audit_columns(d))
        if self.connector.describe(self.snap_table, self.db_schema):
            self._ensure_snapshot_table()
        self._props = [c.prop for c in self.columns]
        # Row building in C: one itemgetter over the record's properties, then the trailing
        # columns no property feeds (``_sdc_deleted_at``) as None. Any other layout, or a
        # record missing a property, takes the general ``record.get`` path.
        named = [p for p in self._props if p is not None]
        self._row_of: Callable[[dict], tuple] | None = None
        self._row_pad: tuple = ()
        if len(named) >= 2 and self._props[:len(named)] == named:
            self._row_of = operator.itemgetter(*named)
            self._row_pad = (None,) * (len(self._props) - len(named))
        self._fast: FastCheck | None = None
        if self._check is not None and self._row_of is not None:
            self._fast = FastCheck.build(_without_date_formats(self.schema), named)
        self._convs = [(i, f) for i, c in enumerate(self.columns)
                       if (f := d.converter(c)) is not None]
        method = self.config.get("load_method") or "append-only"
        self._load_method = str(getattr(method, "value", method))  # SDK default is an enum
        self._key_idx = [i for i, c in enumerate(self.columns) if c.name in self.keys]
        self._empty_is_null = d.empty_string_is_null
        by_name = {c.name: c for c in self.columns}
        key_cols = [by_name[k] for k in self.keys]
        self._reject_cols = reject_columns(d, key_cols)
        self._rejects.key_converters = [key_converter(d, c) for c in key_cols]
        self._ver_idx = next(
            (i for i, c in enumerate(self.columns) if c.name == self.version_col), None)

    def _version_property(self, props: list[str]) -> str | None:
        """``version_column`` setting, else SCHEMA ``bookmark_properties``, else mod_ts."""
        configured = self.config.get("version_column")
        if configured and configured in props:
            return str(configured)
        bookmarks = self._target_ref.bookmark_properties.get(self.stream_name) or []
        if bookmarks and bookmarks[0] in props:
            return str(bookmarks[0])
        return "mod_ts" if "mod_ts" in props else None

    def ref(self, table: str) -> str:
        return self.connector.dialect.table_ref(table, self.db_schema)

    # records -----------------------------------------------------------------------
    def process_record(self, record: dict, context: dict) -> None:
        """Validate, apply business rules, convert; route to live or snapshot rows."""
        if (unstorable := self._target_ref.current_record_unstorable) is not None:
            self._reject(record, "text with a lone UTF-16 surrogate, which no UTF-8 database "
                         "stores, in " + ", ".join(
                             f"{show(k)}: {show(record.get(k))}" for k in unstorable))
            return
        values: tuple | None = None
        if self._row_of is not None:
            try:
                values = self._row_of(record)
            except KeyError:  # a property missing from the record: the general path
                values = None
        if self._check is not None and not (
            values is not None and self._fast is not None and self._fast(record, values)
        ):
            try:
                self._check(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                got = "" if exc.name == "data" else f" (got {show(exc.value)})"
                self._reject(record, f"schema: {exc.message}{got}")
                return
        for src, rule in self._rules:
            if not rule(record):
                self._reject(record, f"business rule failed: {src}")
                return
        for k in self._key_properties:
            if (key := record.get(k)) is None or (self._empty_is_null and key == ""):
                self._reject(record, f"key property {k!r} is missing or null"
                             + (" (Oracle stores '' as NULL)" if key == "" else ""))
                return
        if values is not None:
            row = [*values, *self._row_pad]
        else:
            row = [record.get(p) for p in self._props]  # type: ignore[arg-type]
        try:
            for i, conv in self._convs:
                if (v := row[i]) is not None:
                    row[i] = conv(v)
        except RejectValue as exc:
            self._reject(record, str(exc))
            return
        version = self.snapshot_version_for_record()
        if version is None:
            self._live_rows.append(tuple(row))
        else:
            row += (version, self.next_seq())
            self._snap_rows.append(tuple(row))

    def _reject(self, record: dict, reason: str) -> None:
        # Rejected inside an open full snapshot: remembered with its version, so the publish
        # leaves the live row alone instead of reading the reject as a deletion in WMS.
        version = self.snap_state.version if self.load_method != "upsert" else None
        self._rejects.add(record, reason, version)
        schema = f"{self.db_schema}." if self.db_schema else ""
        self._target_ref.count_reject(f"{schema}{self.rejects_table}")

    def process_batch(self, context: dict) -> None:
        """Commit what is buffered: live rows, snapshot rows, rejects — one txn each."""
        rejects = self._rejects.take()
        if rejects:
            self.connector.ensure_table(self.rejects_table, self.db_schema,
                                        self._reject_cols)
        live, self._live_rows = self._live_rows, []
        snap, self._snap_rows = self._snap_rows, []
        if live or (rejects and not snap):
            self._flush_live(live, rejects)
            rejects = []
        if snap:
            self._flush_snapshot(snap, rejects)

    def _write_rejects(self, conn: t.Any, rejects: list[tuple]) -> None:
        if rejects:
            conn.exec_driver_sql(self.connector.dialect.insert(self.ref(self.rejects_table),
                                                               self._reject_cols), rejects)

    def audit_params(self, event: str, started: str, **counts: t.Any) -> dict[str, t.Any]:
        """Bind values of one audit row (counts not given default to 0)."""
        base = {"run_id": audit.run_id(),
                "pipeline": self.config.get("pipeline_name") or "adhoc",
                "stream": self.stream_name, "table_name": self.table,
                "load_method": self.load_method, "event": event, "table_version": None,
                "started_at": started, "finished_at": audit.utc_now_text(),
                "inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0, "rejected": 0}
        base.update(counts)
        return base

    def dedupe(self, rows: list[tuple]) -> list[tuple]:
        """One row per key: greatest version value, ties → the later record."""
        if not self._key_idx:
            return rows
        ki, vi = self._key_idx, self._ver_idx
        best: dict[t.Any, tuple] = {}
        for row in rows:
            key = row[ki[0]] if len(ki) == 1 else tuple(row[i] for i in ki)
            old = best.get(key)
            if old is not None and vi is not None:
                nv, ov = row[vi], old[vi]
                if ov is not None and (nv is None or nv < ov):
                    continue
            best[key] = row
        if len(best) < len(rows):
            self.tally_duplicate_merged(len(rows) - len(best))
        return list(best.values())

    def _flush_live(self, rows: list[tuple], rejects: list[tuple]) -> None:
        """Upsert one batch into the live table (≤ 3 statements, one transaction)."""
        d, started = self.connector.dialect, audit.utc_now_text()
        rows = self.dedupe(rows)
        live = self.ref(self.table)
        audit_ref = self.ref(self.audit_table)
        params = self.audit_params("batch", started, rejected=len(rejects))
        method = "upsert" if self.load_method != "overwrite" else self.load_method
        params["load_method"] = method
        with self.connector.transaction() as conn:
            if not rows:
                pass
            elif not self.keys:
                conn.exec_driver_sql(d.insert(live, self.columns), rows,
                                     execution_options=self._sizes())
                params["inserted"] = len(rows)
            elif d.name == "oracle":
                stg = self.ref(self.stg_table)
                conn.exec_driver_sql(d.insert(stg, self.columns), rows,
                                     execution_options=self._sizes())
                counted = d.count_changes(stg, live, self.keys, self.version_col)
                conn.exec_driver_sql(audit.insert_counted_sql(d, audit_ref, counted),
                                     audit.counted_binds(params))
                conn.exec_driver_sql(d.merge(live, stg, self.columns, self.keys,  # type: ignore[attr-defined]
                                             self.version_col))
            else:
                names = [*self.keys, *([self.version_col] if self.version_col else [])]
                idx = [*self._key_idx, *([self._ver_idx] if self._ver_idx is not None else [])]
                src = d.json_batch_source(names, None, d.q)  # type: ignore[attr-defined]
                params["batch_keys"] = _keys_json.encode(
                    [[r[i] for i in idx] for r in rows]).decode()
                counted = d.count_changes(src, live, self.keys, self.version_col)
                conn.exec_driver_sql(audit.insert_counted_sql(d, audit_ref, counted),
                                     audit.counted_binds(params, "batch_keys"))
                conn.exec_driver_sql(d.upsert(live, self.columns, self.keys,  # type: ignore[attr-defined]
                                              self.version_col), rows)
            if not rows or not self.keys:
                conn.exec_driver_sql(audit.insert_row_sql(d, audit_ref), params)
            self._write_rejects(conn, rejects)

    def _sizes(self, extra: int = 0) -> dict[str, t.Any]:
        d = self.connector.dialect
        if d.name != "oracle":
            return {}
        sizes = d.input_sizes(self.columns)  # type: ignore[attr-defined]
        import oracledb

        return {"oracle_input_sizes": [*sizes, *([oracledb.DB_TYPE_NUMBER] * extra)]}
