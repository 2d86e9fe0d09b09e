"""A catalog cache that `tap-oracle-wms --config FILE --discover` can serve from the stdlib.

Meltano runs discovery before every sync, and its own catalog cache is off for editable
installs (ours). Most of such a run is the import of singer_sdk and the describe requests,
so a fresh cached catalog is printed by `cli.main` before singer_sdk is imported at all.
A stale catalog is harmless: fields WMS gains later are merged in at sync time
(`EntityStream.effective_schema`).

Only stdlib imports here: this module runs on the cache-hit path.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import typing as t
from pathlib import Path

from tap_oracle_wms.sensitive import SECRET_SETTINGS

HOURS_SETTING = "discovery_cache_hours"
DIR_SETTING = "discovery_cache_dir"
SYS_DIR_ENV = "MELTANO_SYS_DIR_ROOT"
DISTRIBUTION = "wms-oracle-pipeline"
PACKAGE_DIR = Path(__file__).resolve().parent
FILE_PREFIX = "catalog-"
#: Left out of the key: secrets, and where and how long to cache (not what is discovered).
_NOT_IN_KEY = frozenset({*SECRET_SETTINGS, HOURS_SETTING, DIR_SETTING})
#: A cache file written this far "in the future" (clock set back) is not trusted.
_CLOCK_SKEW_SECONDS = 60.0


class CachedCatalog:
    """One cache file: the exact text a discovery printed, named after its key.
    (A plain class: `dataclasses` costs ~7 ms of imports on the hit path.)"""

    __slots__ = ("max_age_seconds", "path")

    def __init__(self, path: Path, max_age_seconds: float) -> None:
        self.path = path
        self.max_age_seconds = max_age_seconds

    def load(self) -> str | None:
        """The cached catalog text; None when missing, expired or unreadable (the caller
        then simply discovers, so a corrupt file costs one normal run and no error)."""
        try:
            age = time.time() - self.path.stat().st_mtime
            if not -_CLOCK_SKEW_SECONDS <= age <= self.max_age_seconds:
                return None
            text = self.path.read_text(encoding="utf-8")
            catalog = json.loads(text)
        except (OSError, ValueError):
            return None
        if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
            return None
        return text

    def store(self, text: str) -> None:
        """Write atomically (temp file + rename): a concurrent reader sees the old file or
        the new one, never half of one. Expired files of other keys are removed."""
        import tempfile  # here, not at the top: only a miss writes

        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FILE_PREFIX}", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune()

    def _prune(self) -> None:
        """Each config or code change makes a new key; drop the expired files of this cache
        (only names it writes: the directory may be a user's own)."""
        import re

        ours = re.compile(rf"{FILE_PREFIX}[0-9a-f]{{64}}\.json|\.{FILE_PREFIX}\w+\.tmp")
        cutoff = time.time() - self.max_age_seconds
        for old in self.path.parent.iterdir():
            try:
                if old != self.path and ours.fullmatch(old.name) and old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                continue


def for_command_line(argv: t.Sequence[str], environ: t.Mapping[str, str]) -> CachedCatalog | None:
    """The cache entry of this invocation, or None when it must not use the cache.

    Only Meltano's shape qualifies: `--config FILE --discover` (plus `--state FILE`) with
    one config file (not `ENV`, which reads settings from the environment), the cache turned
    on in that file and a cache directory known.
    """
    config_path = _discover_config_path(argv)
    if config_path is None:
        return None
    try:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the SDK reports a bad config file properly
    if not isinstance(config, dict):
        return None
    hours = _positive_number(config.get(HOURS_SETTING))
    directory = config.get(DIR_SETTING) or _meltano_cache_dir(environ)
    if hours is None or not directory:
        return None
    return CachedCatalog(Path(directory) / f"{FILE_PREFIX}{cache_key(config)}.json", hours * 3600)


def cache_key(config: t.Mapping[str, t.Any]) -> str:
    """sha256 of the tap's version, its code and the config without secrets.

    An editable install keeps its version while its code changes (the reason Meltano turns
    its own cache off for it), so the size and mtime of the package's modules are in too.
    """
    kept = {k: v for k, v in config.items() if k not in _NOT_IN_KEY}
    material = {"version": _version(), "code": _code_fingerprint(), "config": kept}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_hit(cache: CachedCatalog) -> None:
    """One stderr line, so a Meltano log says where the catalog came from."""
    try:
        age_hours = (time.time() - cache.path.stat().st_mtime) / 3600
    except OSError:
        age_hours = 0.0
    sys.stderr.write(
        f"Catalog from the discovery cache {cache.path} "
        f"({age_hours:.1f} h old, kept {cache.max_age_seconds / 3600:g} h)\n"
    )


def _discover_config_path(argv: t.Sequence[str]) -> str | None:
    """`--discover` with one `--config FILE`, in any order; the `--state FILE` Meltano adds
    once a bookmark exists is allowed too (the SDK's discovery does not read it)."""
    rest = [arg for arg in argv if arg != "--discover"]
    if len(rest) != len(argv) - 1 or len(rest) % 2:
        return None
    options = dict(zip(rest[::2], rest[1::2], strict=True))
    if len(options) != len(rest) // 2 or not options.keys() <= {"--config", "--state"}:
        return None
    path = options.get("--config")
    return path if path and path != "ENV" else None


def _positive_number(value: t.Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _meltano_cache_dir(environ: t.Mapping[str, str]) -> Path | None:
    root = environ.get(SYS_DIR_ENV)
    return Path(root) / "cache" / "tap-oracle-wms" if root else None


def _version() -> str:
    from importlib import metadata  # here: ~10 ms, paid only when the cache is on

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _code_fingerprint() -> list[tuple[str, int, int]]:
    fingerprint = []
    for module in sorted(PACKAGE_DIR.glob("*.py")):
        stat = module.stat()
        fingerprint.append((module.name, stat.st_size, stat.st_mtime_ns))
    return fingerprint
