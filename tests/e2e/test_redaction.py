"""Passwords of every printable character, through the real daemon's log lines and check-config's
errors: they never appear."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emostream.daemon.localredis import free_port

PASSWORDS = st.text(
    alphabet=st.sampled_from(string.printable.replace("\n", "").replace("\r", "")), min_size=4, max_size=20
)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=PASSWORDS)
def test_daemon_logs_never_show_the_password(password: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: the camera is unreachable and retried
    url = f"rtsp://admin:{password}@127.0.0.1:{port}/stream1"
    cmd = [
        sys.executable,
        "-m",
        "emostream",
        "--log-level",
        "DEBUG",
        "run",
        "--source",
        url,
        "--seconds",
        "1.5",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "reconnecting" in proc.stderr  # the failure was logged, and the URL with it
    assert f"rtsp://***@127.0.0.1:{port}/stream1" in proc.stderr
    assert password not in proc.stderr and password not in proc.stdout


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=PASSWORDS)
def test_check_config_errors_never_show_the_password(password: str, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cams = [{"id": "door", "url": f"rtsp://admin:{password}@10.0.0.9/s", "fps": -1}]
    cfg.write_text(yaml.safe_dump({"cameras": cams, "redis": {"url": f"redis://u:{password}@h:6379/0"}}))
    proc = subprocess.run(
        [sys.executable, "-m", "emostream", "check-config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "cameras[0].fps" in proc.stderr
    assert password not in proc.stderr + proc.stdout
