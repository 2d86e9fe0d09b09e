"""Issue 7, scenario 10: recognizable secrets appear in no log, state, table or written file.

The simulator takes an extra Basic user and an extra OAuth client (test-only accounts added to
its in-memory auth tables), so the secrets are unique strings nothing else could contain.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from e2e_helpers import apply_changes_checked, assert_matches_wms

pytestmark = pytest.mark.e2e

PASSWORD = "Pw-e2e-7f3a-Q9zK-secret"
CLIENT_SECRET = "Cs-e2e-9b1c-Lm4R-secret"
DB_PASSWORD = "Db-e2e-5d2e-Xy8W-secret"
SECRETS = (PASSWORD, CLIENT_SECRET, DB_PASSWORD)


def _dump_db(path: Path) -> str:
    out = []
    with sqlite3.connect(path) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            out.extend(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
    return "\n".join(out)


def test_secrets_never_leak(project, simulator, tmp_path) -> None:
    simulator.app.auth.users["e2e_user"] = (PASSWORD, True)
    simulator.app.auth.clients["e2e_client"] = CLIENT_SECRET
    env = project.env
    env.update({
        "TAP_ORACLE_WMS_USERNAME": "e2e_user", "TAP_ORACLE_WMS_PASSWORD": PASSWORD,
        "WMS_OPS_WMS_USERNAME": "e2e_user", "WMS_OPS_WMS_PASSWORD": PASSWORD,
        "TARGET_ORACLE_PASSWORD": DB_PASSWORD,  # set, unused (sqlalchemy_url wins): not logged
    })
    project.meltano("run", "full_sync")  # Basic auth, guard + reconcile + check
    assert_matches_wms(project.warehouse, simulator, context="after the Basic full sync")

    apply_changes_checked(simulator, update=20, insert=5)
    env.update({
        "TAP_ORACLE_WMS_AUTH_METHOD": "oauth2",
        "TAP_ORACLE_WMS_OAUTH_TOKEN_URL": simulator.token_url,
        "TAP_ORACLE_WMS_OAUTH_CLIENT_ID": "e2e_client",
        "TAP_ORACLE_WMS_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
    })
    project.meltano("run", "incremental_sync")  # OAuth client credentials
    assert_matches_wms(project.warehouse, simulator, context="after the OAuth incremental")
    # a failing run logs the most (tracebacks, request excerpts): wrong secret on purpose
    env["TAP_ORACLE_WMS_OAUTH_CLIENT_SECRET"] = CLIENT_SECRET + "-wrong"
    failed = project.meltano("run", "incremental_sync", check=False)
    assert failed.returncode != 0
    env["TAP_ORACLE_WMS_OAUTH_CLIENT_SECRET"] = CLIENT_SECRET
    stats = simulator.stats()
    assert stats["total"] > 0

    leaks = []
    for i, log in enumerate(project.logs):
        leaks += [f"log of command {i}: {s}" for s in SECRETS if s in log]
    sys_dir = Path(env["MELTANO_SYS_DIR_ROOT"])
    leaks += [f"system DB: {s}" for s in SECRETS if s in _dump_db(sys_dir / "meltano.db")]
    leaks += [f"warehouse: {s}" for s in SECRETS if s in _dump_db(project.warehouse)]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()
             and not any(part in {"extractors", "loaders", "utilities"} for part in
                         p.relative_to(tmp_path).parts[:2])]
    assert any(f.name == "meltano.db" for f in files)
    for f in files:
        data = f.read_bytes()
        leaks += [f"file {f.relative_to(tmp_path)}: {s}" for s in SECRETS if s.encode() in data]
    assert not leaks, "secrets leaked:\n  " + "\n  ".join(leaks)
