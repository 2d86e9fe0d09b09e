"""`wms-ops doctor`: check both real ends, and the operations around them, before a first run.

Modules: `settings` (the plugins' settings, from Meltano), `wms` (+ `wms_reach`), `projection`,
`warehouse` (+ `oracle_checks`, `drift`), `operations`, `report` (lines, JSON, redaction),
`command`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from orchestrate.doctor import drift, operations, projection, warehouse
from orchestrate.doctor.report import Check
from orchestrate.doctor.settings import DoctorSettings
from orchestrate.doctor.wms import WmsDoctor

Group = tuple[str, Callable[[], Iterable[Check]]]


def run_checks(s: DoctorSettings, meltano: str | None = None,
               send_test_alert: bool = False) -> Iterator[Check]:
    """Every check in order, each redacted. Without `meltano`, the two checks that need it
    (state backend, schedules through Meltano) are skipped. A group that crashes on something
    unforeseen becomes a failure line and the other groups still run: the report must reach
    the user."""
    for name, group in _groups(s, meltano, send_test_alert):
        checks = iter(group())
        while True:
            try:
                check = next(checks)
            except StopIteration:
                break
            except Exception as exc:  # reported as a finding; the next group goes on
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                yield s.redact.check(Check(name, "crash", "fail",
                                           f"the {name} checks stopped on "
                                           f"{type(exc).__name__}: {first}",
                                           "fix what the lines above name, else report it"))
                break
            yield s.redact.check(check)


def _groups(s: DoctorSettings, meltano: str | None, send_test_alert: bool) -> list[Group]:
    wms = WmsDoctor(s)

    def project() -> Iterable[Check]:
        if not wms.facts.counts:
            return ()
        if s.pipeline.kind == "incremental":
            return projection.incremental(s, wms)
        return projection.full_sync(s, wms)

    def ops() -> Iterator[Check]:
        if meltano:
            yield operations.state_backend(meltano, s.ops)
            yield operations.schedules(meltano, s.ops)
        yield operations.lease(s.ops)
        yield operations.ops_db(s.ops)
        yield operations.channels(s.ops)
        if send_test_alert:
            yield from operations.send_test_alert(s.ops)

    return [("wms", wms.checks), ("projection", project),
            ("warehouse", lambda: warehouse.checks(s)),
            ("warehouse", lambda: drift.checks(s, wms.facts.describes)),
            ("operations", ops)]


__all__ = ["Check", "DoctorSettings", "run_checks"]
