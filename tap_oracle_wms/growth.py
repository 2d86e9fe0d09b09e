"""A stream's schema as it grows during a run: fields the catalog lacks, fields describe lacks.

WMS gains fields between releases. A catalog made (or cached, see `discovery_cache`) before
that lacks fields WMS now describes, and records can carry fields that even describe lacks
(seen on production 17 days after a describe). The SDK would use the catalog's schema alone
and drop the rest silently; here both kinds are added to the stream's schema, logged once,
and the stream re-registers the grown schema with the tap's mapper, so the SCHEMA message
and any stream map are built from it and the target adds the columns.
"""

from __future__ import annotations

import typing as t

from singer_sdk.helpers._catalog import get_selected_schema

from tap_oracle_wms.records import new_field_schema
from tap_oracle_wms.schema import add_missing_properties


class SchemaGrowth:
    """Mixed into the SDK stream (before `RESTStream`): `schema`, `effective_schema` and the
    SCHEMA message follow the grown schema. The stream sets `entity`, `_describe`,
    `_catalog_schema_with_drift = None` and `_schema_grew = False` before the SDK's init."""

    entity: str
    _describe: t.Callable[[str], dict]
    _catalog_schema_with_drift: dict | None
    _schema_grew: bool

    # --- schema: described lazily, so unselected entities never cost a request ---

    @property
    def schema(self) -> dict:
        if self._schema is None:  # type: ignore[has-type]
            self._schema = self._describe(self.entity)
        return self._schema

    @property
    def effective_schema(self) -> dict:
        """The input catalog's schema plus the fields WMS describes that it lacks.

        Without an input catalog this is the described schema, as in the SDK.
        """
        if self._input_schema is None:  # type: ignore[attr-defined]
            return self.schema
        if self._catalog_schema_with_drift is None:
            self._catalog_schema_with_drift = self._merge_drift(self._input_schema)  # type: ignore[attr-defined]
        return self._catalog_schema_with_drift

    def _merge_drift(self, catalog_schema: dict) -> dict:
        merged, added = add_missing_properties(catalog_schema, self.schema)
        if not added:
            return merged
        self.logger.warning(  # type: ignore[attr-defined]
            "entity '%s': %d field(s) described by WMS but missing from the catalog, "
            "loaded as described: %s; rerun discovery to refresh it",
            self.entity,
            len(added),
            ", ".join(added),
        )
        self._register(merged)
        return merged

    def _write_schema_message(self) -> None:
        """Merge the drift before the SCHEMA message: it is the first thing `sync` writes,
        before anything else reads `effective_schema`."""
        _ = self.effective_schema  # merged once, cached
        super()._write_schema_message()  # type: ignore[misc]

    def _on_new_field(self, name: str, value: t.Any) -> dict[str, dict[str, t.Any]] | None:
        """A record carries a field its describe lacks (seen on production after a release
        upgrade): grow the schema, so the target adds the column, and say so once."""
        if name in self.effective_schema.get("properties", {}):
            return None  # known, and deselected
        added = new_field_schema(name, value)
        schema = dict(self.effective_schema)
        schema["properties"] = {**schema.get("properties", {}), **added}
        if self._input_schema is None:  # type: ignore[attr-defined]
            self._schema = schema
        else:
            self._catalog_schema_with_drift = schema
        self._register(schema)
        self._schema_grew = True
        self.logger.warning(  # type: ignore[attr-defined]
            "entity '%s': records carry field '%s', which WMS's describe lacks; loaded as %s "
            "(the table gains the column)",
            self.entity,
            name,
            "/".join(str(p.get("type")) for p in added.values()),
        )
        return added

    def _register(self, schema: dict) -> None:
        """The tap registered the catalog's schema with its mapper at start; the SCHEMA
        message and any stream map are built from that registration, so renew it."""
        self._tap.mapper.register_raw_stream_schema(  # type: ignore[attr-defined]
            self.name,  # type: ignore[attr-defined]
            get_selected_schema(self.name, schema, self.mask),  # type: ignore[attr-defined]
            self.primary_keys,  # type: ignore[attr-defined]
        )
        self._stream_maps = None
