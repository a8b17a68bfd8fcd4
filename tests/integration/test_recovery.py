"""Cameras that misbehave the way real ones do, served by a real HTTP MJPEG server (tests/mjpeg_server.py):
an MJPEG camera read and reconnected after a restart, a resolution change mid-stream, a stream that
stalls without closing (the watchdog fires and the source reconnects), and a camera answering 401
(logged once per backoff step, never per frame, credentials redacted)."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path

import pytest
from conftest import drain
from mjpeg_server import MjpegCamera

from emostream.config import CameraConfig
from emostream.metrics import Metrics
from emostream.sources import queue_policy
from emostream.sources.queues import BoundedQueue
from emostream.sources.video import VideoSource
from emostream.types import Frame


def _source(url: str, **kw: object) -> tuple[VideoSource, BoundedQueue[Frame], Metrics, threading.Event]:
    cam = CameraConfig(id="ipcam", url=url, fps=0, queue_size=200, **kw)
    q: BoundedQueue[Frame] = BoundedQueue(200, queue_policy(cam))
    m, stop = Metrics(), threading.Event()
    src = VideoSource(cam, q, m, stop, backoff=(0.2, 1.0))
    src.start()
    return src, q, m, stop


def _value(m: Metrics, name: str) -> float:
    return m.registry.get_sample_value(name, {"camera": "ipcam"}) or 0.0


def test_mjpeg_camera_is_read_and_reconnected_after_a_restart() -> None:
    server = MjpegCamera().start()
    src, q, m, stop = _source(server.url)
    try:
        first = drain(q, 2.0)
        assert len(first) >= 10 and first[0].image.shape == (360, 640, 3)
        assert _value(m, "emostream_source_up") == 1
        server.stop()
        deadline = time.monotonic() + 15
        while _value(m, "emostream_source_up") != 0:
            assert time.monotonic() < deadline, "still up after the camera went away"
            time.sleep(0.1)
        server.start()  # the same camera, on the same port, back again
        after: list[Frame] = []
        deadline = time.monotonic() + 20
        while len(after) < 5:
            assert time.monotonic() < deadline, "no frames after the camera came back"
            after += drain(q, 0.5)
        assert _value(m, "emostream_source_reconnects_total") >= 1
        assert after[0].ts > first[-1].ts  # media time keeps growing across the reconnect
    finally:
        stop.set()
        server.stop()
        src.thread.join(5)


def test_resolution_change_mid_stream_keeps_frames_coming() -> None:
    server = MjpegCamera("resize", switch=15).start()
    src, q, _m, stop = _source(server.url)
    try:
        frames: list[Frame] = []
        deadline = time.monotonic() + 15
        while not any(f.image.shape == (240, 320, 3) for f in frames) or len(frames) < 30:
            assert time.monotonic() < deadline, {f.image.shape for f in frames}
            frames += drain(q, 0.5)
        shapes = [f.image.shape for f in frames]
        assert shapes[0] == (360, 640, 3) and shapes[-1] == (240, 320, 3)
        assert all(b.ts > a.ts for a, b in itertools.pairwise(frames))
    finally:
        stop.set()
        server.stop()
        src.thread.join(5)


def test_stalled_stream_trips_the_watchdog_and_reconnects() -> None:
    server = MjpegCamera("stall", switch=10).start()
    src, q, m, stop = _source(server.url, watchdog=1.5)
    try:
        deadline = time.monotonic() + 20
        while server.requests < 2:  # the watchdog gave up on the silent connection and dialled again
            assert time.monotonic() < deadline, "the stalled stream was never reopened"
            time.sleep(0.1)
        assert len(drain(q, 0.5)) >= 10  # the frames before the stall were delivered
        assert _value(m, "emostream_source_reconnects_total") >= 1
        assert _value(m, "emostream_source_errors_total") >= 1
    finally:
        stop.set()
        server.stop()
        src.thread.join(5)


def test_unauthorised_camera_is_logged_once_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    server = MjpegCamera("401").start()
    url = server.url.replace("http://", "http://admin:s3cr%40t@")
    caplog.set_level(logging.INFO)
    src, q, m, stop = _source(url)
    try:
        time.sleep(4.0)
    finally:
        stop.set()
        src.thread.join(5)
        server.stop()
    assert not drain(q, 0.1)
    attempts = _value(m, "emostream_source_reconnects_total")
    assert attempts >= 3 and server.requests >= attempts  # backoff 0.2, 0.4, 0.8, 1.0 ... s
    lines = [r.getMessage() for r in caplog.records if "ipcam" in r.getMessage() or "401" in r.getMessage()]
    assert abs(len(lines) - attempts) <= 1, lines  # one line per backoff step
    assert all("s3cr" not in line for line in lines)
    assert any("401" in line or "unauthori" in line.lower() for line in lines), lines
    assert _value(m, "emostream_source_up") == 0


@pytest.mark.shared
def test_webcam_path_through_opencv_capture(media: list[Path]) -> None:
    """The webcam code path (OpenCV VideoCapture, wall-clock timestamps, live drop policy) on a
    recorded clip standing in for the device: frames flow, and when the "device" stops delivering the
    source reconnects and frames flow again. No V4L2 device here (no /dev/video*, no v4l2loopback
    module), so the capture opens the recording instead of index 0."""
    import cv2

    clip = next(p for p in media if "female-and-male" in p.name)
    opened: list[int] = []

    def capture(index: int) -> cv2.VideoCapture:
        opened.append(index)
        return cv2.VideoCapture(str(clip))

    cam = CameraConfig(id="ipcam", url="0", fps=0, queue_size=500)
    q: BoundedQueue[Frame] = BoundedQueue(500, queue_policy(cam))
    m, stop = Metrics(), threading.Event()
    src = VideoSource(cam, q, m, stop, backoff=(0.1, 0.2), capture=capture)
    assert src.kind == "webcam"
    src.start()
    try:
        deadline = time.monotonic() + 15
        while len(opened) < 3:  # the clip ends: "webcam 0 stopped delivering frames", reopened
            assert time.monotonic() < deadline, opened
            time.sleep(0.05)
        frames = drain(q, 0.5)
    finally:
        stop.set()
        src.thread.join(5)
    assert opened[:3] == [0, 0, 0]
    assert len(frames) >= 40 and frames[0].image.shape == (270, 480, 3)
    assert all(b.ts > a.ts for a, b in itertools.pairwise(frames))
    assert _value(m, "emostream_source_reconnects_total") >= 2
    assert src.error == "webcam 0 stopped delivering frames"


def test_v4l2_loopback_webcam() -> None:
    if not Path("/dev/video0").exists():
        pytest.skip("no V4L2 device: /dev/video0 is absent and the v4l2loopback module is not loaded")
    cam = CameraConfig(id="ipcam", url="0", fps=0)
    q: BoundedQueue[Frame] = BoundedQueue(50, queue_policy(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, Metrics(), stop)
    src.start()
    try:
        assert drain(q, 3.0), "the V4L2 device gave no frame"
    finally:
        stop.set()
        src.thread.join(5)
