"""End-to-end fixtures: the real `meltano` CLI against an in-process WMS simulator.

Each test gets its own warehouse file, Meltano system database (runs and state), ops database and
lock directory, so tests can run in parallel and never see each other's bookmarks; the plugin
venvs in `.meltano/` are shared (installed once by `make install`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import BIN, ROOT, Project
from pg_cluster import Cluster, running_cluster, why_unavailable

from wms_simulator.testing import running_simulator


@pytest.fixture
def simulator() -> Iterator:
    with running_simulator(scale=3000, seed=11) as sim:
        yield sim


@pytest.fixture
def project(simulator, tmp_path: Path) -> Project:
    if not (ROOT / ".meltano" / "extractors" / "tap-oracle-wms").exists():
        pytest.fail("Meltano plugins are not installed: run `make install` (make test does it)")
    warehouse = tmp_path / "warehouse.db"
    # Meltano writes each run's config and catalog under <sys dir>/run/<plugin>/: a private sys
    # dir per test (sharing the installed plugin venvs through links) keeps parallel tests apart.
    sys_dir = tmp_path / ".meltano"
    sys_dir.mkdir()
    for kind in ("extractors", "loaders", "utilities"):
        (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_SYS_DIR_ROOT": str(sys_dir),
        "MELTANO_DATABASE_URI": f"sqlite:///{sys_dir / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_ORACLE_WMS_BASE_URL": simulator.base_url,
        "TARGET_ORACLE_SQLALCHEMY_URL": f"sqlite:///{warehouse}",
        "WMS_OPS_WAREHOUSE_URL": f"sqlite:///{warehouse}",
        "WMS_OPS_WMS_BASE_URL": simulator.base_url,
    }
    return Project(env=env, warehouse=warehouse)


@pytest.fixture
def pipes(simulator, tmp_path: Path):
    """The two pipelines as `tap-oracle-wms | target-oracle` (no Meltano), small pages."""
    from e2e_helpers import Pipes

    work = tmp_path / "pipes"
    work.mkdir()
    return Pipes(simulator, work, tmp_path / "warehouse.db")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server (initdb in a temp dir, a free port), one per worker;
    skips, saying why, where this machine has no PostgreSQL server binaries."""
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with running_cluster() as c:
        yield c
