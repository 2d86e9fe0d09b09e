"""The guard: pauses and windows skip cleanly, the schema lock serialises loads."""

from __future__ import annotations

import json
import os
import signal
import sys

from guard_helpers import (
    PY,
    RECORDER,
    alive,
    assert_one_after_the_other,
    child_pids,
    guard,
    guard_rows,
    holder_cmd,
    recorder_cmd,
    started,
    wait_for,
)

from orchestrate.locks import SchemaLock


def test_pause_skips_without_running(project, tmp_path):
    from orchestrate.cli import main

    os.environ.update(project.env)
    try:
        assert main(["pause", "incremental", "--until", "2h", "--reason", "ERP cutover"]) == 0
    finally:
        for k in project.env:
            os.environ.pop(k)
    log = tmp_path / "ran.log"
    p = guard(project, "--pipeline", "incremental_sync", "--no-check",
              *recorder_cmd(tmp_path, log, 0))
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0
    assert "SKIPPED, paused until" in out and "ERP cutover" in out
    assert not log.exists()
    [row] = guard_rows(project)
    assert row["outcome"] == "skipped" and "ERP cutover" in row["reason"]
    # the full sync is not paused
    p = guard(project, "--pipeline", "full_sync", "--no-check", *recorder_cmd(tmp_path, log, 0))
    p.communicate(timeout=60)
    assert p.returncode == 0 and log.read_text().startswith("start")


def test_resume_and_force(project, tmp_path, monkeypatch):
    from orchestrate.cli import main

    for k, v in project.env.items():
        monkeypatch.setenv(k, v)
    main(["pause", "incremental"])
    log = tmp_path / "ran.log"
    p = guard(project, "--pipeline", "incremental", "--no-check", "--force",
              *recorder_cmd(tmp_path, log, 0))
    p.communicate(timeout=60)
    assert log.exists()  # --force ignores the pause
    main(["resume", "incremental"])
    log.unlink()
    p = guard(project, "--pipeline", "incremental", "--no-check", *recorder_cmd(tmp_path, log, 0))
    p.communicate(timeout=60)
    assert p.returncode == 0 and log.exists()


def test_maintenance_window_skips(project, tmp_path):
    log = tmp_path / "ran.log"
    window = [{"cron": "* * * * *", "duration_minutes": 5, "pipelines": ["incremental_sync"],
               "reason": "DB patching"}]
    p = guard(project, "--pipeline", "incremental_sync", "--no-check",
              *recorder_cmd(tmp_path, log, 0),
              env={"WMS_OPS_MAINTENANCE_WINDOWS": json.dumps(window)})
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and "maintenance window" in out and "DB patching" in out
    assert not log.exists()


def test_two_guards_never_overlap(project, tmp_path):
    events = assert_one_after_the_other(
        project, tmp_path, [("full_sync", {}), ("incremental_sync", {})])
    assert events[0][2] != events[2][2]  # each run got its own MELTANO_RUN_ID
    assert sorted(r["outcome"] for r in guard_rows(project)) == ["success", "success"]


def test_lock_timeout_skips(project, tmp_path):
    log, release = tmp_path / "runs.log", tmp_path / "release"
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *holder_cmd(tmp_path, log, release))
    try:
        wait_for(lambda: started(log))
        late = guard(project, "--pipeline", "incremental_sync", "--no-check", "--wait", "0.5",
                     *recorder_cmd(tmp_path, tmp_path / "late.log", 0))
        out, _ = late.communicate(timeout=60)
    finally:
        release.touch()
    assert late.returncode == 0
    assert "SKIPPED, lock" in out and "still held by full_sync" in out
    assert not (tmp_path / "late.log").exists()
    holder.communicate(timeout=60)
    skipped = [r for r in guard_rows(project) if r["outcome"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["waited_seconds"] >= 0.5


def test_exit_code_is_passed_through(project, tmp_path):
    p = guard(project, "--pipeline", "incremental_sync", "--no-check",
              *recorder_cmd(tmp_path, tmp_path / "r.log", 0, rc=3))
    p.communicate(timeout=60)
    assert p.returncode == 3
    [row] = guard_rows(project)
    assert row["outcome"] == "failed" and row["exit_code"] == 3


def test_lock_freed_after_sigkill(project, tmp_path):
    cfg = project.config()
    log = tmp_path / "runs.log"
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *recorder_cmd(tmp_path, log, 60))
    wait_for(lambda: started(log))
    lock = SchemaLock(cfg.lock_dir, cfg.lock_key)
    assert not lock.try_acquire()
    [child] = child_pids(holder.pid)
    # Killing only the guard: the inner run still holds the lock (no second load may start).
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert not lock.try_acquire()
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: not alive(child))
    assert lock.try_acquire()  # the kernel freed it
    lock.release()


def test_sigterm_is_forwarded(project, tmp_path):
    log, release = tmp_path / "runs.log", tmp_path / "never"
    holder = guard(project, "--pipeline", "full_sync", "--no-check",
                   *holder_cmd(tmp_path, log, release))
    wait_for(lambda: started(log))
    holder.send_signal(signal.SIGTERM)
    out, _ = holder.communicate(timeout=60)
    assert holder.returncode == 128 + signal.SIGTERM
    assert "forwarding signal SIGTERM" in out
    assert log.read_text().split()[0] == "start" and "end" not in log.read_text()  # cut short
    [row] = guard_rows(project)
    assert row["outcome"] == "failed"


def test_inner_command_setting_overrides(project, tmp_path):
    log = tmp_path / "r.log"
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    p = guard(project, "--pipeline", "incremental_sync", "--no-check", "--", "run", "a", "b",
              env={"WMS_OPS_INNER_COMMAND": f"{sys.executable} {script} {log} 0"})
    p.communicate(timeout=60)
    assert p.returncode == 0 and log.exists()


def test_inner_command_gets_no_wms_ops_secrets(project, tmp_path):
    """wms-ops' own settings (webhook URL, WMS password) stay with wms-ops: the tap and the
    target under the inner run never see them; the run id and everything else pass through."""
    dump = tmp_path / "env.json"
    script = tmp_path / "dump_env.py"
    script.write_text("import json, os, sys\njson.dump(dict(os.environ), open(sys.argv[1], 'w'))\n")
    secret = "hooks.example.invalid/T000/B000/s3cr3t"
    p = guard(project, "--pipeline", "incremental_sync", "--no-check", "--exec", "--",
              PY, str(script), str(dump),
              env={"WMS_OPS_WEBHOOK_URL": f"https://{secret}", "WMS_OPS_WMS_PASSWORD": "pw-123",
                   "MELTANO_UTILIZE_WMS_PASSWORD": "pw-123", "KEEP_ME": "yes"})
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    seen = json.loads(dump.read_text())
    assert not [k for k in seen if k.startswith(("WMS_OPS_", "MELTANO_UTILIZE_"))]
    assert secret not in dump.read_text() and "pw-123" not in dump.read_text()
    assert seen["KEEP_ME"] == "yes" and seen["MELTANO_RUN_ID"]
