"""In-process simulator for tests and benchmarks: a real HTTP server on a free local port.

with running_simulator(scale=2000, seed=7) as sim:
    requests.get(f"{sim.base_url}/wms/lgfapi/v10/entity/order_hdr/",
                 auth=(sim.username, sim.password))
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wms_simulator.app import Simulator
from wms_simulator.auth import DEV_CLIENT, DEV_PASSWORD, DEV_SECRET, DEV_USER
from wms_simulator.changes import ChangeReport, apply_changes
from wms_simulator.server import SimHTTPServer, start_in_thread
from wms_simulator.store import API_PATH, Store


@dataclass
class SimulatorHandle:
    app: Simulator
    server: SimHTTPServer
    thread: threading.Thread
    username: str = DEV_USER
    password: str = DEV_PASSWORD
    client_id: str = DEV_CLIENT
    client_secret: str = DEV_SECRET

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/<environment>``"""
        return self.app.base_url

    @property
    def api_url(self) -> str:
        """``{base_url}/wms/lgfapi/v10/entity/``"""
        return f"{self.base_url}{API_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/_sim/token"

    @property
    def store(self) -> Store:
        return self.app.store

    def entity_url(self, entity: str) -> str:
        return f"{self.api_url}{entity}/"

    def apply_changes(
        self,
        update: int = 0,
        insert: int = 0,
        delete: int = 0,
        tie: int = 0,
        late: int = 0,
        entities: list[str] | None = None,
    ) -> ChangeReport:
        return apply_changes(self.store, update, insert, delete, tie, late, entities)

    def set_faults(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Replace the fault configuration: ``set_faults(sequence=["429", "ok"])`` or a dict.

        ``set_faults()`` with nothing turns faults off.
        """
        self.app.faults.configure({**(config or {}), **kwargs})

    def set_latency(self, config: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Replace the latency profile: ``set_latency(per_request=0.05, max_concurrent=8)``.

        ``set_latency()`` with nothing makes the simulator instant again. Returns the profile.
        """
        return self.app.set_latency({**(config or {}), **kwargs}).as_dict()

    def set_hostile(self, config: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Replace the hostile mode: ``set_hostile(foreign_next_page=True, values_every=7)``.

        ``set_hostile()`` with nothing turns it off. Returns the configuration (see
        ``wms_simulator/hostile.py``); ``app.hostile.catcher.received`` holds the
        Authorization headers the foreign origin received."""
        return self.app.hostile.configure({**(config or {}), **kwargs})

    def stats(self) -> dict[str, Any]:
        return self.app.stats.as_dict()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def truth(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every live record of ``entity`` exactly as the API serves it, in id order."""
        return self.store.iter_records(entity)


@contextlib.contextmanager
def running_simulator(
    scale: int = 2000,
    seed: int = 7,
    environment: str = "dev",
    page_delay: float = 0.0,
    faults: dict[str, Any] | None = None,
    token_ttl: float = 3600.0,
    cache_mb: float = 0.0,
    latency: dict[str, Any] | None = None,
) -> Iterator[SimulatorHandle]:
    app = Simulator(
        scale=scale,
        seed=seed,
        environment=environment,
        page_delay=page_delay,
        faults=faults,
        token_ttl=token_ttl,
        cache_mb=cache_mb,
        latency=latency,
    )
    server, thread = start_in_thread(app)
    try:
        yield SimulatorHandle(app, server, thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.hostile.close()
