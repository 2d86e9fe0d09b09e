"""Many hosts' first wms-ops commands on a shared PostgreSQL ops DB nobody has used yet: the
tables are created once, nobody fails on the other's half-made tables, no row is lost."""

from __future__ import annotations

from pathlib import Path

from pg_cluster import open_shared_ops_db

from orchestrate.opsdb import OpsDB
from tests.orchestrate.stress_helpers import run_together

WORKERS = 6
ROUNDS = 8


def test_ops_tables_made_once_when_many_hosts_start_at_once(cluster, tmp_path: Path) -> None:
    urls = []
    for n in range(ROUNDS):
        folder = tmp_path / f"round-{n}"
        folder.mkdir()
        urls.append(cluster.create_database(f"start_{tmp_path.name[-20:].lower()}_{n}"))
        (folder / "url").write_text(urls[-1])
    results = run_together(open_shared_ops_db, tmp_path, WORKERS, ROUNDS)
    errors = [v for per_round in results.values() for status, v in per_round if status == "error"]
    assert not errors, errors[0]
    for url in urls:
        ops = OpsDB(url)
        try:
            assert ops.query("SELECT count(*) FROM guard_runs")[0][0] == WORKERS
            assert ops.query("SELECT count(*) FROM ops_writer")[0][0] == 1
        finally:
            ops.close()
