"""Crontab and Airflow DAGs name both jobs with their intervals; cron matching for windows."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from orchestrate.pauses import cron_matches, window_active
from orchestrate.schedules import Schedule, load_schedules, render_crontab

DAG_FILE = Path(__file__).parents[2] / "orchestrate" / "airflow" / "dags" / "meltano_dags.py"
MELTANO = Path(__file__).parents[2] / ".venv" / "bin" / "meltano"


def write_project(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "plugins").mkdir(exist_ok=True)
    (root / "meltano.yml").write_text(yaml.safe_dump({
        "default_environment": "dev", "send_anonymous_usage_stats": False,
        "project_id": "00000000-0000-0000-0000-000000000001",
        "environments": [{"name": "dev"}, {"name": "prod"}],
        "include_paths": ["./plugins/*.meltano.yml"],
        "jobs": [{"name": "full_sync", "tasks": ["wms-ops:full-sync"]},
                 {"name": "incremental_sync", "tasks": ["wms-ops:incremental-sync"]}],
        "schedules": [
            {"name": "full-sync-weekly", "interval": "@weekly", "job": "full_sync"},
            {"name": "incremental-sync-2h", "interval": "0 */2 * * *", "job": "incremental_sync"},
        ],
    }))
    plugin = yaml.safe_load((Path(__file__).parents[2] / "plugins" /
                             "utilities.meltano.yml").read_text())
    (root / "plugins" / "utilities.meltano.yml").write_text(yaml.safe_dump(plugin))


def test_crontab_from_yaml(tmp_path):
    write_project(tmp_path)
    schedules = load_schedules(tmp_path, source="yaml")
    text = render_crontab(schedules, tmp_path, "/opt/venv/bin/meltano", "prod",
                          tmp_path / "logs", check_every=5)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[0] == (f"0 0 * * 0 cd {tmp_path} && MELTANO_ENVIRONMENT=prod "
                        "/opt/venv/bin/meltano run full_sync "
                        f">> {tmp_path}/logs/full_sync.log 2>&1")
    assert lines[1].startswith(f"0 */2 * * * cd {tmp_path} && MELTANO_ENVIRONMENT=prod ")
    assert lines[1].endswith(f"run incremental_sync >> {tmp_path}/logs/incremental_sync.log 2>&1")
    assert lines[2].startswith("*/5 * * * * ") and "invoke wms-ops check" in lines[2]
    assert "# schedule full-sync-weekly: job full_sync, interval @weekly" in text


@pytest.mark.skipif(not MELTANO.exists(), reason="meltano not installed in .venv")
def test_crontab_from_meltano_cli(tmp_path):
    """`meltano schedule list --format=json` on a real (tiny) project."""
    write_project(tmp_path)
    schedules = load_schedules(tmp_path, source="meltano", meltano_bin=str(MELTANO))
    assert {(s.job, s.cron) for s in schedules} == {
        ("full_sync", "0 0 * * 0"), ("incremental_sync", "0 */2 * * *")}
    out = subprocess.run([str(MELTANO), "config", "list", "--all", "wms-ops"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert "lock_wait_seconds" in out.stdout, out.stderr[-2000:]


def _load_dag_module(monkeypatch, root: Path):
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(root))
    monkeypatch.setenv("WMS_OPS_MELTANO_BIN", "/no/such/meltano")  # forces the yaml fallback
    spec = importlib.util.spec_from_file_location("meltano_dags_under_test", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dag_specs_without_airflow(tmp_path, monkeypatch):
    write_project(tmp_path)
    module = _load_dag_module(monkeypatch, tmp_path)
    specs = {s["dag_id"]: s for s in module.dag_specs()}
    assert specs["meltano_full_sync_weekly"]["schedule"] == "0 0 * * 0"
    assert specs["meltano_full_sync_weekly"]["bash_command"].endswith("run full_sync")
    assert specs["meltano_incremental_sync_2h"]["schedule"] == "0 */2 * * *"
    assert specs["meltano_incremental_sync_2h"]["bash_command"].endswith("run incremental_sync")


# Loads the dags folder the way Airflow's DAG processor does and prints what it built. Runs in the
# Airflow interpreter (Airflow 2: airflow.models.DagBag, schedule_interval; 3: dag_processing).
DAGBAG_SCRIPT = """
import json, sys
import airflow
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "version": airflow.__version__,
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": {d.dag_id: {
        "schedule": str(getattr(d, "schedule_interval", None) or d.schedule),
        "timetable": type(d.timetable).__name__,
        "catchup": d.catchup, "max_active_runs": d.max_active_runs,
        "tasks": {t.task_id: [type(t).__name__, getattr(t, "bash_command", None)]
                  for t in d.tasks},
    } for d in bag.dags.values()},
}))
"""


def airflow_python() -> str | None:
    """An interpreter with Apache Airflow: $AIRFLOW_PYTHON, else this one if it has Airflow.

    Airflow is not a project dependency (its pins conflict with ours), so it normally lives in a
    separate virtualenv; the DagBag load then runs there, in a subprocess.
    """
    if os.environ.get("AIRFLOW_PYTHON"):
        return os.environ["AIRFLOW_PYTHON"]
    return sys.executable if importlib.util.find_spec("airflow") else None


def test_dag_import_with_airflow(tmp_path):
    """Real Airflow parses the DAG file: one cron DAG per schedule, each `meltano run <job>`."""
    python = airflow_python()
    if python is None:
        pytest.skip("Apache Airflow is not installed (not a project dependency); set "
                    "AIRFLOW_PYTHON to the python of a virtualenv with apache-airflow")
    root = tmp_path / "project"
    write_project(root)
    meltano = str(MELTANO) if MELTANO.exists() else "/no/such/meltano"  # else the yaml fallback
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
           "MELTANO_PROJECT_ROOT": str(root), "WMS_OPS_MELTANO_BIN": meltano,
           "MELTANO_ENVIRONMENT": "prod"}
    out = subprocess.run([python, "-c", DAGBAG_SCRIPT, str(DAG_FILE.parent)], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["import_errors"] == {}, result["import_errors"]
    assert set(result["dags"]) == {"meltano_full_sync_weekly", "meltano_incremental_sync_2h"}
    for dag_id, job, cron in (("meltano_full_sync_weekly", "full_sync", "0 0 * * 0"),
                              ("meltano_incremental_sync_2h", "incremental_sync", "0 */2 * * *")):
        dag = result["dags"][dag_id]
        assert dag["schedule"] == cron, (result["version"], dag)
        assert "Cron" in dag["timetable"], dag
        assert (dag["catchup"], dag["max_active_runs"]) == (False, 1)
        assert dag["tasks"] == {job: ["BashOperator", f"cd {root} && MELTANO_ENVIRONMENT=prod "
                                                      f"{meltano} run {job}"]}


def test_cron_matching_and_windows():
    sunday_1am = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # a Sunday
    assert cron_matches("30 1 * * 0", sunday_1am)
    assert cron_matches("*/15 1 * * 7", sunday_1am)
    assert not cron_matches("30 1 * * 1-5", sunday_1am)
    assert cron_matches("@weekly", datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    window = {"cron": "0 1 * * 0", "duration_minutes": 60}
    assert window_active(window, sunday_1am)
    assert not window_active(window, datetime(2026, 11, 29, 2, 1, tzinfo=UTC))
    assert window_active({"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z"},
                         datetime(2026, 12, 25, tzinfo=UTC))
    assert Schedule("x", "j", "@once").cron is None
