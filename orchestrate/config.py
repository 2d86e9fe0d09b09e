"""Settings of the `wms-ops` utility, read from the environment Meltano builds for it.

Meltano exports every setting of a utility as `WMS_OPS_<NAME>` (arrays and objects as JSON), so
reading the environment is the one code path that works for `meltano invoke wms-ops`, for job
tasks and for tests. Defaults live here too, because Meltano exports only settings that have a
value; `plugins/utilities.meltano.yml` documents the same names and defaults.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "WMS_OPS_"

DEFAULT_PIPELINES: dict[str, dict[str, Any]] = {
    "full_sync": {
        "tap": "tap-oracle-wms-full",
        "target": "target-oracle-full",
        "kind": "full",
        "warning_minutes": 120,
        "max_age_minutes": 8 * 24 * 60,
    },
    "incremental_sync": {
        "tap": "tap-oracle-wms-incremental",
        "target": "target-oracle-incremental",
        "kind": "incremental",
        "warning_minutes": 30,
        "max_age_minutes": 120,
    },
}

ALIASES = {"full": "full_sync", "incremental": "incremental_sync", "inc": "incremental_sync"}


@dataclass(frozen=True)
class Pipeline:
    """One Meltano job watched by ops: its EL block and its thresholds."""

    name: str
    tap: str
    target: str
    kind: str  # "full" or "incremental"
    warning_minutes: float
    max_age_minutes: float

    @property
    def state_suffix(self) -> str:
        """Meltano names the run `<env>:<tap>-to-<target>`; this is the part after the colon."""
        return f"{self.tap}-to-{self.target}"

    def state_id(self, environment: str) -> str:
        """The `runs.job_name` / state id of this pipeline in one environment."""
        return f"{environment}:{self.state_suffix}"


@dataclass
class OpsConfig:
    """Everything ops needs, resolved once per command."""

    project_root: Path
    environment: str
    warehouse_url: str | None
    table_prefix: str
    system_db_url: str
    ops_db_path: Path
    lock_dir: Path
    lock_key: str
    lock_wait_seconds: float
    meltano_bin: str | None
    inner_command: str | None
    pipelines: dict[str, Pipeline]
    freshness_grace_minutes: float = 30
    reject_share_critical: float = 0.01
    delete_share_critical: float = 0.05
    maintenance_windows: list[dict[str, Any]] = field(default_factory=list)
    maintenance_timezone: str = "UTC"
    webhook_url: str | None = field(default=None, repr=False)  # a secret
    webhook_timeout_seconds: float = 10
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)  # a secret
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_ca_file: str | None = None
    smtp_from: str = "wms-ops@localhost"
    smtp_to: list[str] = field(default_factory=list)
    smtp_timeout_seconds: float = 10
    dashboard_output: str = "site"
    dashboard_max_runs: int = 50
    wms_base_url: str | None = None
    wms_username: str | None = None
    wms_password: str | None = field(default=None, repr=False)  # a secret
    wms_auth_method: str = "basic"
    wms_oauth_token_url: str | None = None
    wms_oauth_client_id: str | None = None
    wms_oauth_client_secret: str | None = field(default=None, repr=False)  # a secret
    wms_oauth_scope: str | None = None
    wms_timeout_seconds: float = 60
    reconcile_entities: list[str] = field(default_factory=list)
    reconcile_max_ids: int = 20
    reconcile_id_diff: bool = True
    reconcile_after_full_sync: bool = True
    check_after_guard: bool = True
    force: bool = False
    lock_url: str | None = field(default=None, repr=False)  # may hold a password
    lock_lease_seconds: float = 300
    target_schema: str | None = None  # the target's default_target_schema (Oracle)
    # The ops records shared by every host (any SQLAlchemy URL); None: ops_db_path, local.
    ops_db_url: str | None = field(default=None, repr=False)  # may hold a password
    # A run seen only through its heartbeat (another host's) is gone after this long at least.
    running_stale_seconds: float = 300

    def pipeline(self, name: str) -> Pipeline:
        """Look a pipeline up by name or alias ("full", "incremental"); clear error otherwise."""
        key = ALIASES.get(name, name)
        if key not in self.pipelines:
            known = ", ".join(sorted(self.pipelines))
            raise SystemExit(f"wms-ops: unknown pipeline {name!r} (known: {known})")
        return self.pipelines[key]


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name.upper())
    return None if value is None or value == "" else value


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    return _raw(env, name) or default


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _raw(env, name)
    return default if raw is None else float(raw)


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds above zero, or a clear error naming the setting."""
    raw = _raw(env, name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise SystemExit(f"wms-ops: setting {name} must be a number of seconds above 0, "
                         f"got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _raw(env, name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def _json(env: Mapping[str, str], name: str, default: Any) -> Any:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        # A plain comma list is friendlier for arrays of strings typed in a shell.
        return [part.strip() for part in raw.split(",") if part.strip()]


def _unflatten(obj: Any) -> Any:
    """Meltano exports `config:` objects flattened (`{"full_sync.tap": ...}`); undo that."""
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        node = out
        *parents, leaf = str(key).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _unflatten(value)
    return out


def without_credentials(text: str) -> str:
    """`scheme://user:password@host` → `scheme://host` wherever a URL appears in `text`: for
    file names, logs and stored messages, which must never carry a password."""
    return re.sub(r"//[^@/\s]*@", "//", text)


def conform_schema(schema: str) -> str:
    """The schema name the target makes of `default_target_schema` on Oracle: characters
    outside `[A-Za-z0-9_$#]` become `_`, upper case, `C_` before a leading digit."""
    name = re.sub(r"[^A-Za-z0-9_$#]", "_", schema.strip()).upper()
    return f"C_{name}" if name[:1].isdigit() else name


def default_lock_key(warehouse_url: str | None, table_prefix: str,
                     target_schema: str | None = None) -> str:
    """Both pipelines write the same schema, so the lock is named after URL + table prefix, and
    the target schema when there is one (two schemas behind one login are two warehouses)."""
    basis = without_credentials(f"{warehouse_url or 'no-warehouse'}|{table_prefix}")
    if target_schema:
        basis += f"|{target_schema}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", basis).strip("_")[-120:] or "warehouse"


def load_config(env: Mapping[str, str] | None = None) -> OpsConfig:
    """Build the config from `WMS_OPS_*` and the `MELTANO_*` variables Meltano sets."""
    env = os.environ if env is None else env
    root = Path(env.get("MELTANO_PROJECT_ROOT") or _str(env, "project_root") or os.getcwd())
    sys_dir = Path(env.get("MELTANO_SYS_DIR_ROOT") or root / ".meltano")
    environment = env.get("MELTANO_ENVIRONMENT") or _str(env, "environment") or "dev"

    pipelines: dict[str, Pipeline] = {}
    overrides = _unflatten(_json(env, "pipelines", {}) or {})
    for name in sorted(set(DEFAULT_PIPELINES) | set(overrides)):
        spec = {**DEFAULT_PIPELINES.get(name, {}), **overrides.get(name, {})}
        spec["warning_minutes"] = _float(env, f"{name}_warning_minutes", spec["warning_minutes"])
        spec["max_age_minutes"] = _float(env, f"{name}_max_age_minutes", spec["max_age_minutes"])
        pipelines[name] = Pipeline(name=name, **spec)

    warehouse_url = _str(env, "warehouse_url")
    table_prefix = _str(env, "table_prefix", "") or ""
    target_schema = _str(env, "target_schema")
    ops_db = Path(_str(env, "ops_db_path") or sys_dir / "wms-ops" / "ops.db")
    smtp_to = _json(env, "smtp_to", [])
    return OpsConfig(
        project_root=root,
        environment=environment,
        warehouse_url=warehouse_url,
        table_prefix=table_prefix,
        system_db_url=_str(env, "system_db_url")
        or env.get("MELTANO_DATABASE_URI")
        or f"sqlite:///{sys_dir / 'meltano.db'}",
        ops_db_path=ops_db if ops_db.is_absolute() else root / ops_db,
        lock_dir=Path(_str(env, "lock_dir") or sys_dir / "wms-ops" / "locks"),
        lock_key=_str(env, "lock_key")
        or default_lock_key(warehouse_url, table_prefix, target_schema),
        lock_wait_seconds=_float(env, "lock_wait_seconds", 1800),
        meltano_bin=_str(env, "meltano_bin"),
        inner_command=_str(env, "inner_command"),
        pipelines=pipelines,
        freshness_grace_minutes=_float(env, "freshness_grace_minutes", 30),
        reject_share_critical=_float(env, "reject_share_critical", 0.01),
        delete_share_critical=_float(env, "delete_share_critical", 0.05),
        maintenance_windows=_json(env, "maintenance_windows", []) or [],
        maintenance_timezone=_str(env, "maintenance_timezone", "UTC") or "UTC",
        webhook_url=_str(env, "webhook_url"),
        webhook_timeout_seconds=_float(env, "webhook_timeout_seconds", 10),
        smtp_host=_str(env, "smtp_host"),
        smtp_port=int(_float(env, "smtp_port", 25)),
        smtp_username=_str(env, "smtp_username"),
        smtp_password=_str(env, "smtp_password"),
        smtp_starttls=_bool(env, "smtp_starttls", False),
        smtp_ssl=_bool(env, "smtp_ssl", False),
        smtp_ca_file=_str(env, "smtp_ca_file"),
        smtp_from=_str(env, "smtp_from", "wms-ops@localhost") or "wms-ops@localhost",
        smtp_to=[smtp_to] if isinstance(smtp_to, str) else list(smtp_to),
        smtp_timeout_seconds=_float(env, "smtp_timeout_seconds", 10),
        dashboard_output=_str(env, "dashboard_output", "site") or "site",
        dashboard_max_runs=int(_float(env, "dashboard_max_runs", 50)),
        wms_base_url=_str(env, "wms_base_url"),
        wms_username=_str(env, "wms_username"),
        wms_password=_str(env, "wms_password"),
        wms_auth_method=_str(env, "wms_auth_method", "basic") or "basic",
        wms_oauth_token_url=_str(env, "wms_oauth_token_url"),
        wms_oauth_client_id=_str(env, "wms_oauth_client_id"),
        wms_oauth_client_secret=_str(env, "wms_oauth_client_secret"),
        wms_oauth_scope=_str(env, "wms_oauth_scope"),
        wms_timeout_seconds=_float(env, "wms_timeout_seconds", 60),
        reconcile_entities=list(_json(env, "reconcile_entities", []) or []),
        reconcile_max_ids=int(_float(env, "reconcile_max_ids", 20)),
        reconcile_id_diff=_bool(env, "reconcile_id_diff", True),
        reconcile_after_full_sync=_bool(env, "reconcile_after_full_sync", True),
        check_after_guard=_bool(env, "check_after_guard", True),
        force=_bool(env, "force", False),
        lock_url=_str(env, "lock_url"),
        lock_lease_seconds=_float(env, "lock_lease_seconds", 300),
        target_schema=target_schema,
        ops_db_url=_str(env, "ops_db_url"),
        running_stale_seconds=_positive(env, "running_stale_seconds", 300),  # MIN_STALE_SECONDS
    )
