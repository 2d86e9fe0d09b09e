"""`wms-ops doctor`: check both real ends, and the operations around them, before a first run.

Modules: `settings` (the plugins' settings, from Meltano), `wms` (+ `wms_reach`), `projection`,
`warehouse` (+ `oracle_checks`, `drift`), `operations`, `report` (lines, JSON, redaction),
`command`.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrate.doctor import drift, operations, projection, warehouse
from orchestrate.doctor.report import Check
from orchestrate.doctor.settings import DoctorSettings
from orchestrate.doctor.wms import WmsDoctor


def run_checks(s: DoctorSettings, meltano: str | None = None,
               send_test_alert: bool = False) -> Iterator[Check]:
    """Every check in order, each redacted. Without `meltano`, the two checks that need it
    (state backend, schedules through Meltano) are skipped."""
    for check in _checks(s, meltano, send_test_alert):
        yield s.redact.check(check)


def _checks(s: DoctorSettings, meltano: str | None, send_test_alert: bool) -> Iterator[Check]:
    wms = WmsDoctor(s)
    yield from wms.checks()
    if wms.facts.counts:
        if s.pipeline.kind == "incremental":
            yield from projection.incremental(s, wms)
        else:
            yield from projection.full_sync(s, wms)
    yield from warehouse.checks(s)
    yield from drift.checks(s, wms.facts.describes)
    if meltano:
        yield operations.state_backend(meltano, s.ops)
        yield operations.schedules(meltano, s.ops)
    yield operations.lease(s.ops)
    yield operations.ops_db(s.ops)
    yield operations.channels(s.ops)
    if send_test_alert:
        yield from operations.send_test_alert(s.ops)


__all__ = ["Check", "DoctorSettings", "run_checks"]
