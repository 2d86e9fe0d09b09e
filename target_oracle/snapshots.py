"""Full-sync snapshots: staging, start/end markers, publish.

Telling markers apart (per stream, kept on the target so a schema change — which makes
the SDK build a new sink — does not forget it):

* ``ACTIVATE_VERSION v`` when no snapshot is open, or one of another version is open →
  **start marker**: staging rows of *other* versions are discarded, rows of ``v`` are kept
  (a resumed full sync reuses its version and keeps filling its staging table).
* ``ACTIVATE_VERSION v`` while snapshot ``v`` is open → **end marker**, whether records
  came in between or not (two markers with nothing between = an entity that is empty
  now; publishing it soft-deletes what the live table still holds).
* A record carrying ``version`` with no snapshot open opens one implicitly.
* End of input never publishes (a tap that died mid-stream also ends the input); the
  staged rows wait for the resumed run. The SDK's own ``activate_version`` (which deletes
  on the *start* marker) is not used.

Publishing is one transaction: dedupe the snapshot (greatest version column, then last
appended), merge into live with the same newer-wins rule (a soft-deleted row comes back),
soft-delete (or, with ``hard_delete``, delete) live rows absent from the snapshot and
older than its start (the version is ms since epoch at snapshot start), clear the
snapshot, write the audit row.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from dataclasses import dataclass

from target_oracle import audit
from target_oracle import types as T
from target_oracle.dialects import Column

OVERWRITE = "overwrite"


@dataclass
class SnapshotState:
    """Per-stream marker bookkeeping."""

    version: int | None = None
    seen: int = 0


def version_start_text(version: int) -> str:
    """Snapshot start (ms since epoch) as fixed-width UTC text."""
    moment = dt.datetime.fromtimestamp(version / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="microseconds")


class SnapshotMixin:
    """Snapshot behaviour of :class:`target_oracle.sinks.OracleSink`."""

    _seq = time.time_ns()

    # Attributes used here (columns, keys, connector, ref, …) are set by the sink.
    _target_ref: t.Any

    @property
    def snap_state(self) -> SnapshotState:
        return self._target_ref.snapshot_state(self.stream_name)  # type: ignore[no-any-return]

    def next_seq(self) -> int:
        """Append order across runs (ns clock base + counter) for tie-breaking."""
        SnapshotMixin._seq += 1
        return SnapshotMixin._seq

    def snapshot_columns(self) -> list[Column]:
        d = self.connector.dialect
        extra = ("_SDC_SNAPSHOT_VERSION", "_SDC_SNAPSHOT_SEQ")
        if not d.upper:
            extra = tuple(e.lower() for e in extra)
        return [*self.columns, *(Column(e, None, T.ColumnType(T.INTEGER)) for e in extra)]

    def _ensure_snapshot_table(self) -> None:
        cols = self.snapshot_columns()
        self.connector.ensure_table(self.snap_table, self.db_schema, cols,
                                    index=[*self.keys, cols[-2].name])

    @property
    def _vcol(self) -> str:
        return self.snapshot_columns()[-2].name

    @property
    def _seqcol(self) -> str:
        return self.snapshot_columns()[-1].name

    def snapshot_version_for_record(self) -> int | None:
        """Where the current record goes: a snapshot version, or None for live."""
        if not self.keys or self.load_method == "upsert":
            return None
        state = self.snap_state
        if self.load_method == OVERWRITE:
            if state.version is None:
                self.start_snapshot(0)
            state.seen += 1
            return state.version
        if state.version is None:
            msg_version = self._target_ref.current_record_version
            if msg_version is None:
                return None
            self.start_snapshot(int(msg_version))
        state.seen += 1
        return state.version

    # markers -----------------------------------------------------------------------
    def activate_version(self, new_version: int) -> None:
        """Start or end a snapshot (see module docstring); never deletes on a start."""
        if self.load_method != "append-only" or not self.keys:
            self.logger.info("ACTIVATE_VERSION %s ignored for %s (load_method=%s)",
                             new_version, self.stream_name, self.load_method)
            return
        state = self.snap_state
        self._target_ref.drain_one(self)
        if state.version == int(new_version):
            self.publish(int(new_version))
        else:
            if state.version is not None:
                self.logger.warning("Snapshot %s of %s abandoned for version %s",
                                    state.version, self.stream_name, new_version)
            self.start_snapshot(int(new_version))

    def start_snapshot(self, version: int) -> None:
        """Open snapshot ``version``: keep its staged rows, discard other versions'."""
        self._ensure_snapshot_table()
        with self.connector.transaction() as conn:
            res = conn.exec_driver_sql(
                f"DELETE FROM {self.ref(self.snap_table)} "
                f"WHERE {self.connector.dialect.q(self._vcol)} <> :snapshot_version",
                {"snapshot_version": version})
        self.logger.info("Snapshot %s of %s started (%s stale staged rows discarded)",
                         version, self.stream_name, res.rowcount)
        state = self.snap_state
        state.version, state.seen = version, 0

    def _flush_snapshot(self, rows: list[tuple], rejects: list[tuple]) -> None:
        """Append rows to the snapshot staging table (plain array insert, no merge).

        With ``use_direct_path`` the load commits on its own (python-oracledb's direct path
        cannot join a transaction), so it runs first and alone; the audit row — recording
        what the load committed — and the rejects follow in their own transaction. A failure
        in between leaves staged rows without their audit row and fails the run before its
        STATE is emitted: the tap re-sends the snapshot, its rows are staged again, and the
        publish takes one row per key (greatest version column, then last staged), so
        nothing reaches the live table twice and the rerun's audit rows are complete.
        """
        d, started = self.connector.dialect, audit.utc_now_text()
        cols = self.snapshot_columns()
        snap = self.ref(self.snap_table)
        params = self.audit_params("batch", started, rejected=len(rejects),
                                   inserted=len(rows), table_version=rows[0][-2])
        direct = d.name == "oracle" and self.config.get("use_direct_path") and (
            self._direct_path_available())
        if direct:
            self._direct_path_load(cols, rows)
        with self.connector.transaction() as conn:
            if not direct:
                conn.exec_driver_sql(d.insert(snap, cols), rows,
                                     execution_options=self._sizes(extra=2))
            conn.exec_driver_sql(audit.insert_row_sql(d, self.ref(self.audit_table)), params)
            self._write_rejects(conn, rejects)

    def _direct_path_available(self) -> bool:
        """``Connection.direct_path_load`` exists from python-oracledb 3.4 (the pinned
        minimum); an older driver in the environment loads by array insert, with a warning."""
        raw = self.connector.held().connection.dbapi_connection
        if hasattr(raw, "direct_path_load"):
            return True
        if not self.__dict__.get("_warned_no_direct_path"):
            self.__dict__["_warned_no_direct_path"] = True  # once per stream and run
            import oracledb

            self.logger.warning(
                "use_direct_path is on, but python-oracledb %s has no "
                "Connection.direct_path_load (3.4+): loading snapshots by array insert",
                getattr(oracledb, "__version__", "?"))
        return False

    def _direct_path_load(self, cols: list[Column], rows: list[tuple]) -> None:
        """Oracle direct path (``Connection.direct_path_load``) into the snapshot table."""
        raw = self.connector.held().connection.dbapi_connection
        idx = [i for i, c in enumerate(cols) if c.ctype.kind in {T.TIMESTAMP, T.DATE}]

        def native(row: tuple) -> tuple:
            out = list(row)
            for i in idx:
                if out[i] is not None:
                    parsed = dt.datetime.fromisoformat(out[i])
                    out[i] = parsed.date() if cols[i].ctype.kind == T.DATE else parsed
            return tuple(out)

        if self.connector.held().in_transaction():  # the load would commit it
            raise RuntimeError("direct-path load requested inside an open transaction")
        owner = self.db_schema or raw.username.upper()  # type: ignore[union-attr]
        raw.direct_path_load(owner, self.snap_table, [c.name for c in cols],  # type: ignore[union-attr]
                             [native(r) for r in rows] if idx else rows)

    def _rejects_of_snapshots(self) -> tuple[str, str, list[str]] | None:
        """The rejects table, its version column and its typed key columns, when it has
        them (a rejects table of an older release lacks the key columns until its next
        reject; its rows could not be matched reliably anyway)."""
        existing = self.connector.describe(self.rejects_table, self.db_schema)
        cols = self._reject_cols
        version = next(c.name for c in cols if c.prop == "table_version")
        keys = [c.name for c in cols[-len(self.keys):]] if self.keys else []
        if version in existing and keys and all(k in existing for k in keys):
            return self.ref(self.rejects_table), version, keys
        return None

    # publish -----------------------------------------------------------------------
    def publish(self, version: int, *, replace: bool = False) -> None:
        """Make snapshot ``version`` the live table's content, in one transaction."""
        d, started = self.connector.dialect, audit.utc_now_text()
        live, snap = self.ref(self.table), self.ref(self.snap_table)
        dedup = d.dedup_snapshot(snap, self.columns, self.version_col, self._vcol,
                                 self._seqcol, self.keys)
        vi = self._ver_idx
        is_time = vi is not None and self.columns[vi].ctype.kind == T.TIMESTAMP
        binds = {"snapshot_version": version}
        rejects = None if replace else self._rejects_of_snapshots()
        with self.connector.transaction() as conn:
            deleted = 0
            if replace:
                deleted = conn.exec_driver_sql(f"DELETE FROM {live}").rowcount
            counts = conn.exec_driver_sql(
                "SELECT " + d.count_changes(f"({dedup})", live, self.keys, self.version_col),
                binds).one()
            if d.name == "oracle":
                sql = d.merge(live, f"({dedup})", self.columns, self.keys,  # type: ignore[attr-defined]
                              self.version_col, undelete_col=self.deleted_col)
            else:
                sql = d.upsert(live, self.columns, self.keys, self.version_col,  # type: ignore[attr-defined]
                               select=dedup, undelete_col=self.deleted_col)
            conn.exec_driver_sql(sql, binds)
            if not replace:
                del_sql = d.soft_delete(live, snap, self.keys,
                                        self.version_col if is_time else None,
                                        self.deleted_col, self._vcol,
                                        hard=bool(self.config.get("hard_delete")),
                                        rejects=rejects)
                del_binds = {**binds, "deleted_at": started}
                if is_time:
                    del_binds["snapshot_start"] = version_start_text(version)
                if bool(self.config.get("hard_delete")):
                    del_binds.pop("deleted_at")
                deleted = conn.exec_driver_sql(del_sql, del_binds).rowcount
            conn.exec_driver_sql(f"DELETE FROM {snap} WHERE {d.q(self._vcol)} = :snapshot_version",
                                 binds)
            params = self.audit_params("publish", started, inserted=counts[0],
                                       updated=counts[1], unchanged=counts[2],
                                       deleted=deleted, table_version=version or None)
            conn.exec_driver_sql(audit.insert_row_sql(d, self.ref(self.audit_table)), params)
        self.logger.info("Published snapshot %s of %s: %s", version, self.stream_name,
                         {k: params[k] for k in ("inserted", "updated", "unchanged", "deleted")})
        state = self.snap_state
        state.version, state.seen = None, 0

    def finish_overwrite(self) -> None:
        """``overwrite``: at end of input, swap the staged rows in (one transaction)."""
        if self.load_method == OVERWRITE and self.snap_state.version is not None:
            self.publish(self.snap_state.version, replace=True)
