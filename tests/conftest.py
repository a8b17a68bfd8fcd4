"""Fixtures with real parts: the shared data folder, a real redis-server, a real RTSP server (ffmpeg)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from emostream.daemon.localredis import LocalRedis
from emostream.runtime import shared_dir
from emostream.sources.queues import BoundedQueue, Closed
from emostream.tools.rtsp_server import RtspServer

__all__ = ["RtspServer", "drain", "looping_cameras", "need_shared", "stopped_summary"]

REQUIRE_SHARED = os.environ.get("EMOSTREAM_REQUIRE_SHARED") == "1"


def need_shared() -> Path:
    """The shared folder; skips the test without it, fails instead when EMOSTREAM_REQUIRE_SHARED=1."""
    d = shared_dir()
    if d is None:
        if REQUIRE_SHARED:
            pytest.fail("../shared is required (EMOSTREAM_REQUIRE_SHARED=1) but was not found")
        pytest.skip("needs ../shared (set EMOSTREAM_SHARED)")
    return d


@pytest.fixture(scope="session")
def shared() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def media(shared: Path) -> list[Path]:
    clips = sorted((shared / "media").glob("*.gif"))
    assert clips, f"no clips in {shared / 'media'}"
    return clips


@pytest.fixture
def redis_server() -> Iterator[LocalRedis]:
    """A real redis-server process on a free loopback port, fresh for each test."""
    with LocalRedis() as server:
        yield server


@pytest.fixture
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


T = TypeVar("T")


def looping_cameras(clips: list[Path]) -> str:
    """YAML list items: one camera per clip (cam0, cam1, ...), looping in real time at 5 fps."""
    return "".join(
        f"  - {{id: cam{i}, url: '{c}', fps: 5, loop: true, realtime: true}}\n" for i, c in enumerate(clips)
    )


def stopped_summary(stderr: str) -> dict[str, int]:
    """The counters of the daemon's final ``stopped: k=v ...`` log line."""
    line = next(ln for ln in stderr.splitlines() if "stopped: " in ln)
    return {k: int(float(v)) for k, v in (kv.split("=") for kv in line.split("stopped: ")[1].split())}


def drain(q: BoundedQueue[T], seconds: float, poll: float = 0.1) -> list[T]:
    """Everything ``q`` delivers within ``seconds``, or until it is closed (a source that has ended)."""
    out: list[T] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            item = q.get(timeout=poll)
        except Closed:
            break
        if item is not None:
            out.append(item)
    return out


@pytest.fixture
def rtsp_server(media: list[Path]) -> Iterator[RtspServer]:
    server = RtspServer(next(p for p in media if "walking-and-pause" in p.name))
    yield server.start()
    server.stop()


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Daemons started by a test keep their spool in a folder of their own, never in the user's home."""
    monkeypatch.setenv("EMOSTREAM_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[object]:
    """A real Mosquitto (password auth) on a free port; see ``tests/mqtt_broker.py``."""
    from mqtt_broker import Mosquitto

    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()
