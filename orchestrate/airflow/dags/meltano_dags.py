"""One Airflow DAG per Meltano schedule, each a BashOperator running `meltano run <job>`.

Drop this file (or a symlink) into Airflow's dags folder, or point `dags_folder` here; set
`MELTANO_PROJECT_ROOT` when the file is not inside the project. The guard inside each job
(pause, maintenance windows, schema lock, alerts) works the same under Airflow as under cron.
Harmless without Airflow: the import is guarded and `dag_specs()` can be used on its own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path


def _code_root() -> Path | None:
    """The checkout this file belongs to (symlinks resolved), found by its `orchestrate` package.

    Airflow puts only the dags folder on sys.path, so `orchestrate` must be added by hand. It is
    taken from the file's own checkout, not from MELTANO_PROJECT_ROOT, so that the project to run
    in may be another directory (a deployed copy, a test project) without breaking the import.
    """
    here = Path(__file__).resolve()
    return next((p for p in here.parents if (p / "orchestrate" / "schedules.py").is_file()), None)


CODE_ROOT = _code_root()
PROJECT_ROOT = Path(os.environ.get("MELTANO_PROJECT_ROOT") or CODE_ROOT or Path.cwd())
MELTANO_BIN = os.environ.get("WMS_OPS_MELTANO_BIN") or shutil.which("meltano") or "meltano"
ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT")

_IMPORT_ROOT = str(CODE_ROOT or PROJECT_ROOT)  # a copied file imports from the project
if _IMPORT_ROOT not in sys.path:
    sys.path.insert(0, _IMPORT_ROOT)


def dag_specs(source: str = "auto") -> list[dict]:
    """What the DAGs are: id, cron schedule, job and bash command (Airflow-independent)."""
    from orchestrate.schedules import load_schedules

    env = f"MELTANO_ENVIRONMENT={shlex.quote(ENVIRONMENT)} " if ENVIRONMENT else ""
    specs = []
    for s in load_schedules(PROJECT_ROOT, source=source, meltano_bin=MELTANO_BIN):
        if s.cron is None:
            continue
        specs.append({
            "dag_id": f"meltano_{s.name}".replace("-", "_"),
            "schedule": s.cron,
            "job": s.job,
            "bash_command": f"cd {shlex.quote(str(PROJECT_ROOT))} && {env}"
                            f"{shlex.quote(MELTANO_BIN)} run {s.job}",
        })
    return specs


try:  # Airflow 2.x and 3.x locations of the BashOperator
    from airflow import DAG

    try:
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:
        from airflow.operators.bash import BashOperator
except ImportError:  # no Airflow here: define nothing, stay importable
    DAG = None

#: Airflow re-parses this file every ~30 s: reading meltano.yml (and its include_paths) costs
#: milliseconds, `meltano schedule list` ~1 s of CPU and may outlast Airflow's 30 s import
#: timeout on a busy host. `WMS_OPS_SCHEDULE_SOURCE=meltano` (or `auto`) asks Meltano instead.
SCHEDULE_SOURCE = os.environ.get("WMS_OPS_SCHEDULE_SOURCE", "yaml")

if DAG is not None:
    for _spec in dag_specs(SCHEDULE_SOURCE):
        with DAG(
            dag_id=_spec["dag_id"],
            schedule=_spec["schedule"],
            start_date=datetime(2025, 1, 1),
            catchup=False,
            max_active_runs=1,  # the guard's lock would skip an overlap anyway
            tags=["meltano", _spec["job"]],
            default_args={"retries": 0, "execution_timeout": timedelta(hours=12)},
        ) as _dag:
            BashOperator(task_id=_spec["job"], bash_command=_spec["bash_command"])
        globals()[_spec["dag_id"]] = _dag
