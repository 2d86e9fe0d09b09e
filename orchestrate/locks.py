"""An OS-level lock per target schema, so full and incremental loads never race.

`fcntl.flock` on a file under `.meltano/wms-ops/locks/`: the kernel drops the lock when the last
descriptor of the open file is closed, i.e. when the holder dies, even by SIGKILL, so a killed run
can never leave it taken. The guard passes the descriptor to its child (`pass_fds`), so the inner
`meltano run` keeps holding the lock even if the guard itself is killed first.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("wms_ops.lock")


def wait_for_lock(try_once: Callable[[], bool], holder: Callable[[], dict], wait_seconds: float,
                  poll: float, on_wait: Callable[[dict], None] | None = None) -> bool:
    """Retry `try_once` until it succeeds or `wait_seconds` pass; tell `on_wait` who holds the
    lock, once (the file lock here and the lease in `leases.py` wait alike)."""
    deadline = time.monotonic() + max(0.0, wait_seconds)
    announced = False
    while True:
        if try_once():
            return True
        if not announced and on_wait is not None:
            on_wait(holder())
            announced = True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(poll, max(0.01, deadline - time.monotonic())))


class SchemaLock:
    """Exclusive, non-reentrant lock named by a key (the warehouse schema)."""

    def __init__(self, lock_dir: Path, key: str) -> None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.path = lock_dir / f"{key}.lock"
        self.fd: int | None = None

    def holder(self) -> dict:
        """What the current holder wrote into the file (best effort, for messages)."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def try_acquire(self) -> bool:
        """One non-blocking attempt."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def acquire(self, wait_seconds: float, poll: float = 0.5,
                on_wait: Callable[[dict], None] | None = None) -> bool:
        """Wait up to `wait_seconds` for the lock; False when it stayed taken."""
        return wait_for_lock(self.try_acquire, self.holder, wait_seconds, poll, on_wait)

    def write_holder(self, info: dict) -> None:
        """Record who holds the lock (pid, pipeline, run id, since) for waiting processes."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(info).encode(), 0)

    def release(self) -> None:
        """Close our descriptor (the lock is freed once no child holds it either)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
