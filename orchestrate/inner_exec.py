"""How the guard starts the inner `meltano`: the same CLI, minus interpreter teardown.

A `meltano run` has finished its work when it logs "Run completed", yet its process lives on
for another ~0.25 s (measured on 2 cores) while CPython tears down the thousands of modules
and objects Meltano imported. Nobody waits for that teardown except whoever waits for the
exit code — here the guard, and behind it the whole job. For a weekly full sync it does not
matter; for the two-hourly incremental, which is mostly fixed costs, it is ~6 % of the run.

So when `meltano` is an ordinary Python console script, the guard runs the same entry point
(`meltano.cli:main`) in the same interpreter through a few lines that, once `main` is done,
join any non-daemon threads, run the `atexit` handlers (logging flush, Meltano's own), flush
stdio and leave with `os._exit`. Everything Meltano does, including its signal handling and
exit code, is unchanged; only the teardown is skipped. Any other kind of `meltano` (a binary,
a wrapper script) is run as is.
"""

from __future__ import annotations

from pathlib import Path

#: Runs in meltano's own interpreter (`python -c SHIM args...`), so stdlib only.
SHIM = """\
import atexit, os, sys, threading
sys.argv[0] = "meltano"
from meltano.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    if exc.code is None:
        code = 0
    elif isinstance(exc.code, int):
        code = exc.code
    else:
        print(exc.code, file=sys.stderr)
        code = 1
for thread in threading.enumerate():
    if thread is not threading.main_thread() and not thread.daemon:
        thread.join()
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""

_ENTRY = "from meltano.cli import main"


def _console_script_python(executable: str) -> str | None:
    """The interpreter of a pip-style `meltano` console script, else None."""
    try:
        with open(executable, "rb") as fh:
            head = fh.read(512).decode("utf-8", errors="replace")
    except OSError:
        return None
    first, _, rest = head.partition("\n")
    if not first.startswith("#!") or _ENTRY not in rest:
        return None
    python = first[2:].strip()
    if " " in python or not Path(python).is_file():  # `#!/usr/bin/env python` etc.: run as is
        return None
    return python


def spawn_argv(cmd: list[str]) -> list[str]:
    """What to exec for `cmd`: the teardown-free form when `cmd` starts a meltano script."""
    if not cmd or Path(cmd[0]).name != "meltano":
        return cmd
    python = _console_script_python(cmd[0])
    if python is None:
        return cmd
    return [python, "-c", SHIM, *cmd[1:]]
