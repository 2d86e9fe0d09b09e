"""Whether a process on this host still runs: the lease keeper and the running-run files both
ask it of a pid they were handed."""

from __future__ import annotations

import contextlib
import os
import typing as t
from pathlib import Path


def pid_alive(pid: t.Any) -> bool:
    """False for a pid that is not a positive int, gone, or a zombie (killed, not yet reaped:
    it runs no more, whatever `kill(pid, 0)` says); True for another user's live process."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"
    return True
