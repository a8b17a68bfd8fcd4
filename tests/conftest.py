"""Fixtures with real parts: the shared data folder, a real redis-server, a real RTSP server (ffmpeg)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from emostream.daemon.localredis import LocalRedis, free_port
from emostream.runtime import shared_dir
from emostream.sources.queues import BoundedQueue, Closed

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


class RtspServer:
    """A real RTSP server: Debian's rtsp-server-perl, fed one clip in a loop at real-time pace by ffmpeg.

    Clients read ``url`` over RTP/UDP (the server does not do interleaved TCP); ffmpeg publishes to it
    with ANNOUNCE/RECORD on a second port, as a camera or encoder would.
    """

    def __init__(self, clip: Path, audio: bool = False, video: bool = True) -> None:
        for exe in ("ffmpeg", "rtsp-server-perl"):
            if shutil.which(exe) is None:
                pytest.fail(f"{exe} is required for the RTSP tests (make test installs it)")
        self.clip = clip
        self.audio = audio  # publish the clip's audio track too (AAC), else video only
        self.video = video  # False: an audio-only stream (a microphone's RTSP feed)
        self.port = free_port()
        self.source_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 15.0) -> RtspServer:
        self._spawn(
            [
                "rtsp-server-perl",
                "--clientport",
                str(self.port),
                "--serverport",
                str(self.source_port),
                "--client_listen_address",
                "127.0.0.1",
                "--source_listen_address",
                "127.0.0.1",
                "--rtp_start_port",
                str(20000 + self.port % 20000),
                "--loglevel",
                "1",
            ]
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.source_port):
            if time.monotonic() > deadline:
                raise RuntimeError("rtsp-server-perl did not listen")
            time.sleep(0.05)
        self._spawn(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
                str(self.clip),
                *(["-c:a", "aac", "-ar", "44100"] if self.audio else ["-an"]),
                *(["-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"] if self.video else ["-vn"]),
                "-f",
                "rtsp",
                f"rtsp://127.0.0.1:{self.source_port}/live",
            ]
        )
        while not self.playable():
            if time.monotonic() > deadline:
                raise RuntimeError(f"RTSP stream {self.url} did not become playable")
            time.sleep(0.2)
        return self

    def playable(self) -> bool:
        import av

        try:
            with av.open(self.url, options={"rtsp_transport": "udp"}, timeout=(2, 2)) as c:
                return (bool(c.streams.video) or not self.video) and (bool(c.streams.audio) or not self.audio)
        except av.FFmpegError:
            return False

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


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
