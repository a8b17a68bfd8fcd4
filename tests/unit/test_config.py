"""Config parsing: defaults, field-path errors, environment overrides, and the check-config exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emostream.config import ConfigError, load, parse


def test_defaults_are_valid() -> None:
    cfg = parse(None, env={})
    assert cfg.cameras == []
    assert cfg.redis.url is None and cfg.redis.stream == "emostream:events"
    assert cfg.metrics.host == "127.0.0.1"


def test_example_config_from_the_issue(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(
        "cameras:\n  - id: entrance\n    url: rtsp://user:pass@10.0.0.5/stream1\n    fps: 5\n"
        "redis: {url: redis://localhost:6379/0}\nmetrics: {port: 9108}\n"
    )
    cfg = load(p, env={})
    assert cfg.cameras[0].id == "entrance" and cfg.cameras[0].fps == 5
    assert cfg.redis.url == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"cameras": [{"id": "a", "url": "x.mp4", "fps": -1}]}, "cameras[0].fps"),
        ({"cameras": [{"id": "a", "url": "x.mp4"}, {"id": "b bad", "url": "y"}]}, "cameras[1].id"),
        ({"cameras": [{"url": "x.mp4"}]}, "cameras[0].id"),
        ({"redis": {"urll": "redis://x"}}, "redis.urll"),
        ({"metrics": {"port": 70000}}, "metrics.port"),
        ({"detector": {"kind": "haar"}}, "detector.kind"),
        ({"debounce": {"half_life": 0}}, "debounce.half_life"),
    ],
)
def test_errors_name_the_field(data: dict, path: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(data, env={})
    assert str(err.value).splitlines()[0].startswith(path + ":"), str(err.value)


def test_duplicate_camera_ids_rejected() -> None:
    with pytest.raises(ConfigError, match="duplicate camera id 'a'"):
        parse({"cameras": [{"id": "a", "url": "1"}, {"id": "a", "url": "2"}]}, env={})


def test_environment_overrides_secrets() -> None:
    env = {
        "EMOSTREAM_REDIS_URL": "rediss://:pw@r:6380/1",
        "EMOSTREAM_CAMERA_FRONT_DOOR_URL": "rtsp://u:p@cam/1",
    }
    cfg = parse({"cameras": [{"id": "front-door", "url": "rtsp://cam/1"}]}, env=env)
    assert cfg.redis.url == "rediss://:pw@r:6380/1"
    assert cfg.cameras[0].url == "rtsp://u:p@cam/1"


def test_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("cameras: [\n  - id: a\n")
    with pytest.raises(ConfigError) as err:
        load(p, env={})
    assert len(str(err.value).splitlines()) == 1 and "line" in str(err.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emostream", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras:\n  - id: a\n    url: x.mp4\n    fps: fast\nmetrics: {port: -1}\n")
    res = _cli("check-config", str(bad))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert any(line.startswith("emostream: config error: cameras[0].fps:") for line in lines), res.stderr
    assert any(line.startswith("emostream: config error: metrics.port:") for line in lines), res.stderr
    assert "Traceback" not in res.stderr

    good = tmp_path / "good.yaml"
    good.write_text("cameras:\n  - {id: a, url: x.mp4}\n")
    res = _cli("check-config", str(good))
    assert res.returncode == 0, res.stderr

    res = _cli("check-config", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2 and "cannot read" in res.stderr
