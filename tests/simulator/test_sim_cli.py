"""The wms-simulator CLI: serve in a subprocess, drive it with change/faults, stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests


def test_serve_change_faults_and_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wms_simulator.cli",
            "serve",
            "--port",
            "0",
            "--scale",
            "500",
            "--seed",
            "4",
            "--environment",
            "qa",
            "--faults",
            '{"sequence": ["503"]}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/qa")
        url = f"{base}/wms/lgfapi/v10/entity/order_hdr/"
        auth = ("wms_dev", "wms_dev_password")
        assert requests.get(url, auth=auth, timeout=30).status_code == 503
        assert requests.get(url, auth=auth, timeout=30).status_code == 200
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "wms_simulator.cli",
                "change",
                "--base-url",
                base,
                "--update",
                "2",
                "--insert",
                "1",
                "--entity",
                "order_hdr",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        report = json.loads(out.stdout)
        assert report["entities"]["order_hdr"]["inserted"] == [51]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "wms_simulator.cli",
                "faults",
                "--base-url",
                base,
                "--json",
                '{"sequence": ["429"]}',
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        assert requests.get(url, auth=auth, timeout=30).status_code == 429
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
