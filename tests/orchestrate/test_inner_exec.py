"""The guard's teardown-free launch of the inner meltano behaves exactly like `meltano`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.inner_exec import spawn_argv

MELTANO = shutil.which("meltano") or str(Path(sys.executable).with_name("meltano"))


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not Path(MELTANO).exists(), reason="meltano is not installed next to pytest")
@pytest.mark.parametrize("args", [["--version"], ["config", "no-such-plugin", "list"]])
def test_same_output_and_exit_code_as_meltano(args, tmp_path):
    argv = [MELTANO, *args]
    fast = spawn_argv(argv)
    assert fast[0] != MELTANO and fast[1] == "-c"  # really the shim, not meltano itself
    plain, shimmed = run(argv, tmp_path), run(fast, tmp_path)
    assert shimmed.returncode == plain.returncode
    assert shimmed.stdout == plain.stdout
    if plain.returncode:  # the error message survives the fast exit (stderr flushed)
        assert plain.stderr.strip().splitlines()[-1] in shimmed.stderr


def test_other_commands_and_wrappers_run_as_given(tmp_path):
    wrapper = tmp_path / "meltano"
    wrapper.write_text("#!/bin/sh\nexec echo wrapped \"$@\"\n")
    wrapper.chmod(0o755)
    assert spawn_argv([str(wrapper), "run", "x"]) == [str(wrapper), "run", "x"]
    assert spawn_argv(["true"]) == ["true"]
    assert spawn_argv([]) == []
