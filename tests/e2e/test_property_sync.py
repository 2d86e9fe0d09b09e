"""Issue 7: random sequences of WMS changes and syncs keep the warehouse equal to WMS.

Hypothesis draws a sequence of steps -- a change batch (update / insert / delete / tie / late)
or a sync (incremental / full) -- runs it against a fresh simulator and warehouse through the
piped executables (state kept between runs like Meltano keeps it), and checks equality after
every sync, then once more after a closing full sync. Derandomized: the same examples every run;
a failing example is printed by Hypothesis (and the step list is in the assertion message).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from e2e_helpers import Pipes, SimulatorWentBackwards, apply_changes_checked, compare_with_wms
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from wms_simulator.testing import running_simulator

pytestmark = pytest.mark.e2e

changes = st.fixed_dictionaries({
    "update": st.integers(0, 30), "insert": st.integers(0, 10), "delete": st.integers(0, 6),
    "tie": st.integers(0, 12), "late": st.integers(0, 2),
}).map(lambda c: ("change", c))
syncs = st.sampled_from([("sync", "incremental"), ("sync", "full")])
steps = st.lists(st.one_of(changes, syncs), min_size=2, max_size=5)


# No shrink phase: each example costs seconds of real runs; the failing example (and its
# steps, in the assertion message) is reported as found.
@settings(max_examples=5, deadline=None, derandomize=True, print_blob=True,
          phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seq=steps, sim_seed=st.integers(1, 1000))
def test_any_sequence_of_changes_and_syncs_keeps_the_tables_equal_to_wms(seq, sim_seed) -> None:
    with tempfile.TemporaryDirectory(prefix="e2e-prop-") as tmp, \
            running_simulator(scale=400, seed=sim_seed) as sim:
        pipes = Pipes(sim, Path(tmp) / "w", Path(tmp) / "wh.db")
        pipes.workdir.mkdir()
        pipes.page_size = 9
        done: list = []
        reconciled = True
        for kind, arg in [("sync", "full"), *seq, ("sync", "full")]:
            done.append((kind, arg))
            if kind == "change":
                try:
                    apply_changes_checked(sim, **arg)
                except SimulatorWentBackwards:
                    # known simulator issue (strict xfail in test_sync_correctness.py)
                    assume(False)
                reconciled = reconciled and not arg["delete"]
                continue
            pipes.run(arg)
            reconciled = reconciled or arg == "full"
            problems = compare_with_wms(pipes.warehouse, sim, deletes_reconciled=reconciled)
            assert not problems, f"seed={sim_seed} steps={done}:\n  " + "\n  ".join(problems)
