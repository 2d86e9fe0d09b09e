"""The discovery cache, through the real `tap-oracle-wms` executable and Meltano's command
shape (`--config FILE --discover`), against the in-process simulator; plus its pure rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
from tap_helpers import base_config, run_tap

from tap_oracle_wms import discovery_cache
from tap_oracle_wms.discovery_cache import cache_key, for_command_line
from tap_oracle_wms.sensitive import SECRET_SETTINGS
from tap_oracle_wms.settings import CONFIG_SCHEMA

sim_testing = pytest.importorskip("wms_simulator.testing")

SECRET = "Recognisable-Cache-S3cret"


@pytest.fixture(scope="module")
def sim() -> t.Iterator[t.Any]:
    with sim_testing.running_simulator(scale=200, seed=3) as running:
        yield running


def cached_config(sim: t.Any, cache_dir: Path, **overrides: t.Any) -> dict[str, t.Any]:
    settings = {
        "entities": ["order_hdr"],
        "discovery_cache_hours": 24,
        "discovery_cache_dir": str(cache_dir),
    }
    return base_config(sim, **{**settings, **overrides})


def discover(sim: t.Any, config: dict[str, t.Any], **kwargs: t.Any) -> tuple[t.Any, int]:
    """A `--discover` run and the number of API requests it made."""
    sim.reset_stats()
    run = run_tap(config, args=["--discover"], **kwargs)
    assert run.returncode == 0, run.stderr[-2000:]
    json.loads(run.stdout)
    return run, sim.stats()["total"]


def cache_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*")) if cache_dir.exists() else []


def test_second_discover_is_served_from_the_cache_without_requests(
    sim: t.Any, tmp_path: Path
) -> None:
    config = cached_config(sim, tmp_path / "cache")
    first, requests = discover(sim, config)
    assert requests >= 2  # the catalogue and the describe
    assert len(cache_files(tmp_path / "cache")) == 1
    second, requests = discover(sim, config)
    assert requests == 0
    assert second.stdout == first.stdout  # byte for byte
    assert "discovery cache" in second.stderr
    # Meltano adds `--state` to the discovery of a pipeline that has a bookmark.
    with_state, requests = discover(sim, config, state={"bookmarks": {}})
    assert requests == 0
    assert with_state.stdout == first.stdout


def test_another_config_misses(sim: t.Any, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    discover(sim, cached_config(sim, cache_dir))
    other, requests = discover(sim, cached_config(sim, cache_dir, entities=["order_dtl"]))
    assert requests >= 2
    assert [s["tap_stream_id"] for s in json.loads(other.stdout)["streams"]] == ["order_dtl"]
    assert len(cache_files(cache_dir)) == 2


def test_ttl_zero_never_caches(sim: t.Any, tmp_path: Path) -> None:
    config = cached_config(sim, tmp_path / "cache", discovery_cache_hours=0)
    for _ in range(2):
        _, requests = discover(sim, config)
        assert requests >= 2
    assert cache_files(tmp_path / "cache") == []


def test_meltano_sys_dir_is_the_default_place_and_no_secret_is_kept(
    sim: t.Any, tmp_path: Path
) -> None:
    config = cached_config(sim, tmp_path / "unused")
    del config["discovery_cache_dir"]
    env = {"MELTANO_SYS_DIR_ROOT": str(tmp_path / ".meltano")}
    discover(sim, config, env=env)
    files = cache_files(tmp_path / ".meltano" / "cache" / "tap-oracle-wms")
    assert len(files) == 1
    for path in files:
        assert sim.password not in path.name
        assert sim.password not in path.read_text()
        assert sim.username not in path.name
    _, requests = discover(sim, config, env=env)
    assert requests == 0


def test_corrupt_cache_file_falls_back_to_discovery(sim: t.Any, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    config = cached_config(sim, cache_dir)
    first, _ = discover(sim, config)
    (path,) = cache_files(cache_dir)
    for garbage in ('{"streams": [', "[]", "\x00\xff"):
        path.write_text(garbage)
        again, requests = discover(sim, config)
        assert requests >= 2
        assert again.stdout == first.stdout
        assert "Traceback" not in again.stderr
        assert "WARNING" not in again.stderr
        assert path.read_text() + "\n" == first.stdout  # rewritten by the discovery


def test_cache_hit_does_not_import_singer_sdk(tmp_path: Path) -> None:
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps(
            {
                "base_url": "http://127.0.0.1:9/nowhere",  # never contacted
                "discovery_cache_hours": 1,
                "discovery_cache_dir": str(tmp_path / "cache"),
            }
        )
    )
    argv = ["--config", str(config_path), "--discover"]
    cache = for_command_line(argv, {})
    assert cache is not None
    cache.store(json.dumps({"streams": []}, indent=2))
    probe = (
        "import sys; from tap_oracle_wms.cli import main; "
        f"sys.argv = ['tap-oracle-wms', *{argv!r}]; main(); "
        "assert 'singer_sdk' not in sys.modules, 'singer_sdk imported'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"streams": []}


# --- the rules, in-process -------------------------------------------------------------------


def test_secret_settings_are_the_schema_secrets() -> None:
    marked = {name for name, spec in CONFIG_SCHEMA["properties"].items() if spec.get("secret")}
    assert marked == set(SECRET_SETTINGS)


def test_key_ignores_secrets_and_cache_settings_but_not_the_rest() -> None:
    config = {"base_url": "https://x/t", "username": "u", "password": "p", "entities": ["a"]}
    key = cache_key(config)
    assert key == cache_key({**config, "password": SECRET, "oauth_client_secret": SECRET})
    assert key == cache_key({**config, "discovery_cache_hours": 5, "discovery_cache_dir": "/x"})
    assert key != cache_key({**config, "entities": ["b"]})
    assert key != cache_key({**config, "enable_incremental": True})
    assert SECRET not in key


@pytest.mark.parametrize(
    "argv",
    [
        ["--discover"],
        ["--config", "ENV", "--discover"],
        ["--config", "{config}"],
        ["--config", "{config}", "--config", "{config}", "--discover"],
        ["--config", "{config}", "--discover", "--catalog", "x.json"],
        ["--config", "{config}", "--about"],
        ["--config", "{config}", "--discover", "--discover"],
        ["--config", "{config}", "--state", "--discover"],
        ["--config", "{config}", "--state", "a.json", "--state", "b.json", "--discover"],
    ],
)
def test_only_meltanos_discover_shape_uses_the_cache(tmp_path: Path, argv: list[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"discovery_cache_hours": 1, "discovery_cache_dir": "c"}))
    for accepted in (
        ["--config", str(config), "--discover"],
        ["--discover", "--config", str(config)],
        ["--config", str(config), "--state", "state.json", "--discover"],  # after a bookmark
    ):
        assert for_command_line(accepted, {}) is not None
    assert for_command_line([a.format(config=config) for a in argv], {}) is None


@pytest.mark.parametrize(
    ("settings", "environ", "expected"),
    [
        ({"discovery_cache_hours": 2}, {}, None),  # no directory known
        ({"discovery_cache_hours": 2}, {"MELTANO_SYS_DIR_ROOT": "/m"}, "/m/cache/tap-oracle-wms"),
        ({"discovery_cache_hours": 2, "discovery_cache_dir": "/d"}, {}, "/d"),
        ({"discovery_cache_hours": "nonsense", "discovery_cache_dir": "/d"}, {}, None),
        ({"discovery_cache_hours": -1, "discovery_cache_dir": "/d"}, {}, None),
        ({"discovery_cache_dir": "/d"}, {"MELTANO_SYS_DIR_ROOT": "/m"}, None),  # default 0
    ],
)
def test_cache_place_and_switch(
    tmp_path: Path, settings: dict, environ: dict, expected: str | None
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(settings))
    cache = for_command_line(["--config", str(config), "--discover"], environ)
    assert (None if cache is None else str(cache.path.parent)) == expected


def test_expired_or_future_files_are_not_served(tmp_path: Path) -> None:
    cache = discovery_cache.CachedCatalog(tmp_path / "catalog-k.json", max_age_seconds=3600)
    cache.store('{"streams": []}')
    assert cache.load() == '{"streams": []}'
    now = time.time()
    os.utime(cache.path, (now, now - 3601))
    assert cache.load() is None
    os.utime(cache.path, (now, now + 3600))
    assert cache.load() is None


def test_store_removes_only_expired_cache_files(tmp_path: Path) -> None:
    """Other files in a user-chosen directory are never touched, however old."""
    old_name, new_name = f"catalog-{'a' * 64}.json", f"catalog-{'b' * 64}.json"
    long_ago = time.time() - 120
    for name in (old_name, ".catalog-x1y2.tmp", "catalog-notes.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
        os.utime(tmp_path / name, (long_ago, long_ago))
    discovery_cache.CachedCatalog(tmp_path / new_name, 60).store('{"streams": []}')
    assert {p.name for p in tmp_path.iterdir()} == {new_name, "catalog-notes.json", "notes.txt"}
