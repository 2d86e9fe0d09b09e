"""`wms-ops reconcile`: after a full sync, does the table match the WMS?

Per entity: rows in WMS (`result_count` of a `page_mode=paged&page_size=1` list call), live rows in
the table (`_sdc_deleted_at IS NULL`), what the publish inserted / changed / soft-deleted (the
LOAD_AUDIT `publish` rows of the run) and, when the counts differ, the first N ids on either side
(ids fetched with `fields=id`). Stored in the ops DB, shown by `history --reconciliation` and the
dashboard. The WMS is read after the load, so changes made meanwhile show up as small differences.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa

from orchestrate.config import OpsConfig
from orchestrate.history import build_history
from orchestrate.meltano_runs import norm_run_id
from orchestrate.ops_tables import RECONCILIATIONS as RECON
from orchestrate.opsdb import OpsDB
from orchestrate.timeutil import iso, utcnow
from orchestrate.warehouse import StreamCounts, Warehouse
from orchestrate.wms_api import WmsClient, WmsLoginError

log = logging.getLogger("wms_ops.reconcile")


def _sorted_ids(ids: set[str], limit: int) -> list[str]:
    return sorted(ids, key=lambda i: (0, int(i), "") if i.isdigit() else (1, 0, i))[:limit]


def reconcile_entity(cfg: OpsConfig, wh: Warehouse, wms: WmsClient | None, entity: str,
                     counts: StreamCounts | None,
                     no_wms: str = "wms_base_url not configured") -> dict[str, Any]:
    """One entity's report row (errors are recorded in the row, not raised)."""
    table = counts.table_name if counts else f"{cfg.table_prefix}{entity}"
    row: dict[str, Any] = {"entity": entity, "wms_rows": None, "table_rows": None,
                           "inserted": None, "changed": None, "deleted": None,
                           "missing_in_table": [], "extra_in_table": [], "error": None}
    if counts is not None:
        row.update(inserted=counts.publish["inserted"], changed=counts.publish["updated"],
                   deleted=counts.publish["deleted"])
    errors = []
    try:
        row["table_rows"] = wh.live_count(table)
    except Exception as exc:
        errors.append(f"table count failed: {exc}")
    if wms is None:
        errors.append(f"{no_wms}: WMS rows not counted")
    else:
        try:
            row["wms_rows"] = wms.count(entity)
        except Exception as exc:
            errors.append(f"WMS count failed: {exc}")
    differ = row["wms_rows"] is not None and row["wms_rows"] != row["table_rows"]
    if differ and wms is not None and cfg.reconcile_id_diff:
        try:
            wms_ids, table_ids = wms.ids(entity), wh.live_ids(table)
            row["missing_in_table"] = _sorted_ids(wms_ids - table_ids, cfg.reconcile_max_ids)
            row["extra_in_table"] = _sorted_ids(table_ids - wms_ids, cfg.reconcile_max_ids)
        except Exception as exc:
            errors.append(f"id comparison failed: {exc}")
    row["error"] = "; ".join(errors) or None
    return row


def reconcile(cfg: OpsConfig, ops: OpsDB, run_id: str | None = None) -> list[dict[str, Any]]:
    """Reconcile the given (or the latest successful) full sync; stores and returns the rows."""
    full = next((p for p in cfg.pipelines.values() if p.kind == "full"), None)
    if full is None:
        raise SystemExit("wms-ops reconcile: no pipeline of kind 'full' configured")
    if run_id is None:
        done = [r for r in build_history(cfg, ops, pipeline=full.name) if r.outcome == "success"]
        if not done:
            raise SystemExit(f"wms-ops reconcile: no successful {full.name} run to reconcile")
        run_id = done[-1].run_id
    if not cfg.warehouse_url:
        raise SystemExit("wms-ops reconcile: warehouse_url is not configured")
    rid = norm_run_id(run_id)
    wh = Warehouse(cfg.warehouse_url, cfg.table_prefix, cfg.target_schema)
    wms, no_wms = None, "wms_base_url not configured"
    if cfg.wms_base_url:
        try:
            wms = WmsClient(cfg)
        except WmsLoginError as exc:
            no_wms = str(exc)
    try:
        per_stream = {s.stream: s for s in wh.audit_counts([rid]).get(rid, [])}
        entities = cfg.reconcile_entities or sorted(per_stream)
        rows = [reconcile_entity(cfg, wh, wms, e, per_stream.get(e), no_wms) for e in entities]
    finally:
        wh.dispose()
    now = iso(utcnow())
    with ops.transaction() as tx:
        for r in rows:
            tx.insert(RECON, run_id=rid, pipeline=full.name, environment=cfg.environment,
                      created_at=now, entity=r["entity"], wms_rows=r["wms_rows"],
                      table_rows=r["table_rows"], inserted=r["inserted"], changed=r["changed"],
                      deleted=r["deleted"], missing_in_table=_id_list(r["missing_in_table"]),
                      extra_in_table=_id_list(r["extra_in_table"]), error=r["error"])
    for r in rows:
        status = "OK" if r["wms_rows"] == r["table_rows"] and not r["error"] else "DIFF"
        log.info("reconcile %s %s: wms=%s table=%s inserted=%s changed=%s deleted=%s%s", rid,
                 r["entity"], r["wms_rows"], r["table_rows"], r["inserted"], r["changed"],
                 r["deleted"], f" [{status}] {r['error'] or ''}")
    return rows


def _id_list(ids: list[str]) -> str:
    """The JSON list of ids, as many of the first ones as fit the column (4000 bytes)."""
    limit = RECON.c.missing_in_table.type.length or 4000
    kept = list(ids)
    while len(json.dumps(kept).encode()) > limit:
        kept = kept[: len(kept) // 2]
    return json.dumps(kept)


def latest_reconciliation(ops: OpsDB, environment: str) -> list[dict[str, Any]]:
    """Rows of the most recent reconciliation in this environment (for dashboard/history)."""
    last = ops.query(sa.select(RECON.c.run_id, RECON.c.created_at)
                     .where(RECON.c.environment == environment)
                     .order_by(RECON.c.created_at.desc(), RECON.c.id.desc()).limit(1))
    if not last:
        return []
    rows = ops.query(sa.select(RECON).where(
        RECON.c.environment == environment, RECON.c.created_at == last[0]["created_at"],
        # NULL = '' on Oracle: a run id of None is matched as such, not by `=`
        RECON.c.run_id.is_(None) if last[0]["run_id"] is None
        else RECON.c.run_id == last[0]["run_id"]).order_by(RECON.c.entity))
    out = []
    for r in rows:
        d = dict(r)
        d["missing_in_table"] = json.loads(d["missing_in_table"] or "[]")
        d["extra_in_table"] = json.loads(d["extra_in_table"] or "[]")
        out.append(d)
    return out
