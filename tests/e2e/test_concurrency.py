"""Issue 7, scenario 6: a full and an incremental sync started at the same moment."""

from __future__ import annotations

import itertools
import subprocess

import pytest
from e2e_helpers import BIN, PREFIX, ROOT, apply_changes_checked, assert_matches_wms

pytestmark = pytest.mark.e2e


def test_full_and_incremental_started_together_never_overlap(project, simulator) -> None:
    # A project's system database exists before its first scheduled runs (meltano install
    # creates it); two Meltano processes creating it at the same instant would race.
    project.meltano("state", "list")
    procs = {
        job: subprocess.Popen([str(BIN / "meltano"), "run", job], cwd=ROOT, env=project.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for job in ("full_sync", "incremental_sync")
    }
    outs = {job: p.communicate(timeout=400)[0] for job, p in procs.items()}
    project.logs.extend(outs.values())
    for job, p in procs.items():
        assert p.returncode == 0, f"{job} exited {p.returncode}:\n{outs[job][-4000:]}"
    assert any("waiting up to" in o or "SKIPPED" in o for o in outs.values()), (
        "neither run waited for (or skipped on) the schema lock")

    # Each pipeline's loads form one interval; the two intervals must not interleave.
    spans = project.query(
        f"SELECT pipeline, run_id, min(started_at), max(finished_at) FROM {PREFIX}LOAD_AUDIT "
        "GROUP BY pipeline, run_id ORDER BY 3")
    assert {s[0] for s in spans} <= {"full_sync", "incremental_sync"}, spans
    for (p1, _, _, end1), (p2, _, start2, _) in itertools.pairwise(spans):
        assert end1 <= start2, f"loads overlap: {p1} ended {end1}, {p2} started {start2}"

    apply_changes_checked(simulator, update=30, insert=15, tie=10)
    project.meltano("run", "incremental_sync")
    assert_matches_wms(project.warehouse, simulator, context="after the final incremental")
