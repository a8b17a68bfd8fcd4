"""Video sources on real clips and a real RTSP server: sampling, looping, pacing, loss and reconnection."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import RtspServer, drain

from emostream.config import CameraConfig
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.sources import queue_policy as policy_for
from emostream.sources.media import source_kind
from emostream.sources.queues import BoundedQueue
from emostream.sources.video import VideoSource, bgr_pixels
from emostream.types import Frame


def _run(
    cam: CameraConfig, metrics: Metrics | None = None, until: float = 30.0
) -> tuple[list[Frame], VideoSource]:
    metrics = metrics or Metrics()
    q: BoundedQueue[Frame] = BoundedQueue(cam.queue_size, policy_for(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop)
    src.start()
    frames = drain(q, until, poll=0.2)
    stop.set()
    src.thread.join(10)
    return frames, src


def test_kinds_and_redaction() -> None:
    assert source_kind("0") == "webcam" and source_kind("rtsp://h/x") == "stream"
    assert source_kind("/a/b.gif") == "file"
    assert (
        redact("open rtsp://admin:s3cret@10.0.0.5:554/s1 failed") == "open rtsp://***@10.0.0.5:554/s1 failed"
    )
    assert redact("rtsp://10.0.0.5/s1") == "rtsp://10.0.0.5/s1"


@pytest.mark.shared
def test_file_every_frame_no_drops(media: list[Path]) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-male.gif")
    frames, src = _run(CameraConfig(id="c", url=str(clip), fps=0, queue_size=2))
    assert len(frames) == 62 == src.captured
    assert [f.seq for f in frames] == list(range(62))
    assert frames[0].ts == 0.0 and all(b.ts > a.ts for a, b in itertools.pairwise(frames))
    assert frames[0].image.shape == (270, 480, 3) and frames[0].image.dtype.name == "uint8"
    assert src.queue.dropped == 0


@pytest.mark.shared
def test_gif_pixels_are_ffmpegs_conversion(media: list[Path]) -> None:
    """GIFs decode to BGRA; dropping the alpha with OpenCV gives FFmpeg's BGR frame, byte for byte."""
    import av

    for clip in media:
        with av.open(str(clip)) as c:
            for f in itertools.islice(c.decode(video=0), 0, None, 7):
                assert f.format.name == "bgra"
                np.testing.assert_array_equal(bgr_pixels(f), f.to_ndarray(format="bgr24"))


@pytest.mark.shared
def test_sampling_by_media_time_and_loop(media: list[Path]) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-female.gif")  # 23 frames, 1.83 s
    frames, _ = _run(CameraConfig(id="c", url=str(clip), fps=5, loop=True), until=2.0)
    ts = [f.ts for f in frames]
    assert len(frames) > 20, "looping file keeps producing frames"
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    # 5 fps sampled from a 12.5 fps clip: never two adjacent frames, never a skipped slot, 5 per second.
    assert min(gaps) >= 0.15 and max(gaps) <= 0.25 + 1e-9, gaps
    assert len(ts) / (ts[-1] - ts[0]) == pytest.approx(5.0, rel=0.1)
    assert ts[-1] > 1.83 * 2, "media time keeps growing across loops"


@pytest.mark.shared
def test_realtime_pacing(media: list[Path]) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-female.gif")
    t0 = time.monotonic()
    frames, _ = _run(CameraConfig(id="c", url=str(clip), fps=0, realtime=True))
    elapsed = time.monotonic() - t0
    assert len(frames) == 23 and elapsed >= 1.7  # the clip lasts 1.83 s


@pytest.mark.shared
def test_realtime_loop_keeps_to_the_clock(media: list[Path]) -> None:
    """A looping file at its own pace stays on the wall clock across passes: each pass used to be
    paced from its own first sampled frame, so what came before it, and the rest of the last pass,
    went out at once (this 1.83 s clip at 5 frames/s ran 0.2 s ahead per pass)."""
    clip = next(p for p in media if p.name == "head-pose-face-detection-female.gif")  # 1.83 s
    frames, _ = _run(CameraConfig(id="c", url=str(clip), fps=5, realtime=True, loop=True), until=4.6)
    assert frames[-1].ts > 2 * 1.83, "it looped twice"
    ahead = [(f.ts - frames[0].ts) - (f.wall - frames[0].wall) for f in frames]
    assert max(ahead) < 0.1, [round(a, 3) for a in ahead]


def test_unreadable_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 10)
    metrics = Metrics()
    frames, src = _run(CameraConfig(id="c", url=str(bad)), metrics)
    assert frames == [] and src.error and "\n" not in src.error and "broken.mp4" in src.error
    frames, src = _run(CameraConfig(id="c", url=str(tmp_path / "nope.mp4")), metrics)
    assert frames == [] and src.error == f"cannot open file {tmp_path / 'nope.mp4'}: no such file"
    assert metrics.registry.get_sample_value("emostream_source_errors_total", {"camera": "c"}) == 2


@pytest.mark.shared
def test_corrupt_bytes_inside_a_file_are_skipped(media: list[Path], tmp_path: Path) -> None:
    data = bytearray(next(p for p in media if p.name == "head-pose-face-detection-male.gif").read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 4000, 7):
        data[i] ^= 0xFF  # flip bits in the middle of the LZW data
    clip = tmp_path / "damaged.gif"
    clip.write_bytes(bytes(data))
    frames, src = _run(CameraConfig(id="c", url=str(clip), fps=0))
    assert 0 < len(frames) <= 62 and src.thread.is_alive() is False


def test_unreachable_stream_retries_with_backoff_and_shows_down() -> None:
    metrics = Metrics()
    metrics.init_camera_series(["gate"])
    cam = CameraConfig(id="gate", url="rtsp://admin:hunter2@127.0.0.1:9/none", fps=5)
    q: BoundedQueue[Frame] = BoundedQueue(2, policy_for(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop, backoff=(0.05, 0.2))
    src.start()
    deadline = time.monotonic() + 10
    while metrics.registry.get_sample_value("emostream_source_reconnects_total", {"camera": "gate"}) < 3:
        assert time.monotonic() < deadline, "no reconnect attempts"
        time.sleep(0.05)
    assert metrics.registry.get_sample_value("emostream_source_up", {"camera": "gate"}) == 0
    assert src.error and "hunter2" not in src.error and "***@127.0.0.1" in src.error
    stop.set()
    src.thread.join(5)
    assert not src.thread.is_alive()


@pytest.mark.shared
def test_rtsp_reads_and_reconnects_after_server_restart(rtsp_server: RtspServer) -> None:
    metrics = Metrics()
    cam = CameraConfig(id="rtsp", url=rtsp_server.url, fps=5, queue_size=2)
    q: BoundedQueue[Frame] = BoundedQueue(2, policy_for(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop, backoff=(0.2, 1.0))
    src.start()
    up = lambda: metrics.registry.get_sample_value("emostream_source_up", {"camera": "rtsp"})  # noqa: E731

    before = drain(q, 3.0)
    assert len(before) >= 5 and up() == 1
    rtsp_server.stop()
    deadline = time.monotonic() + 20
    while up() != 0:
        assert time.monotonic() < deadline, "source still up 20 s after the server died"
        time.sleep(0.1)
    rtsp_server.start()
    deadline = time.monotonic() + 30
    after: list[Frame] = []
    while len(after) < 5:
        assert time.monotonic() < deadline, "no frames after the server came back"
        after.extend(drain(q, 0.5))
    assert up() == 1
    assert metrics.registry.get_sample_value("emostream_source_reconnects_total", {"camera": "rtsp"}) >= 1
    assert after[0].ts > before[-1].ts, "media time keeps growing across reconnects"
    stop.set()
    src.thread.join(10)


def test_missing_webcam_retries_without_crashing() -> None:
    metrics = Metrics()
    metrics.init_camera_series(["cam"])
    cam = CameraConfig(id="cam", url="97", fps=5)
    q: BoundedQueue[Frame] = BoundedQueue(2, policy_for(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop, backoff=(0.05, 0.1))
    src.start()
    deadline = time.monotonic() + 10
    while metrics.registry.get_sample_value("emostream_source_reconnects_total", {"camera": "cam"}) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert src.error == "cannot open webcam 97" and src.thread.is_alive()
    stop.set()
    src.thread.join(5)


@pytest.mark.shared
def test_live_pace_source_drops_oldest_when_analysis_lags(media: list[Path]) -> None:
    """A source paced like a live camera never waits for analysis: the oldest frame goes, and is counted."""
    metrics = Metrics()
    clip = next(p for p in media if p.name == "head-pose-face-detection-male.gif")
    cam = CameraConfig(id="c", url=str(clip), fps=0, realtime=True, queue_size=2)
    dropped: list[Frame] = []

    def count(frame: Frame) -> None:
        dropped.append(frame)
        metrics.frames_dropped.labels("c", "queue_full").inc()

    q: BoundedQueue[Frame] = BoundedQueue(cam.queue_size, policy_for(cam), on_drop=count)
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop)
    src.start()
    src.thread.join(15)  # nobody reads: the capture thread must still run to the end of the clip
    assert not src.thread.is_alive()
    assert src.captured == 62 and q.dropped == 60 == len(dropped)
    assert (
        metrics.registry.get_sample_value(
            "emostream_frames_dropped_total", {"camera": "c", "reason": "queue_full"}
        )
        == 60
    )
    left = [q.get(0), q.get(0)]
    assert [f.seq for f in left if f] == [60, 61]  # the freshest frames survive


@pytest.mark.shared
def test_stopping_a_live_source_is_not_an_error(rtsp_server: RtspServer) -> None:
    metrics = Metrics()
    cam = CameraConfig(id="r", url=rtsp_server.url, fps=5)
    q: BoundedQueue[Frame] = BoundedQueue(2, policy_for(cam))
    stop = threading.Event()
    src = VideoSource(cam, q, metrics, stop)
    src.start()
    deadline = time.monotonic() + 20
    while q.get(0.2) is None:
        assert time.monotonic() < deadline
    stop.set()
    src.thread.join(10)
    assert src.error is None
    assert metrics.registry.get_sample_value("emostream_source_errors_total", {"camera": "r"}) in (None, 0.0)


def test_non_reference_frames_are_skipped_at_half_the_rate_or_less(tmp_path: Path) -> None:
    """An x264 clip at 20 fps with B-frames: analysed at 5 fps the B-frames are never decoded (fewer
    frames captured, the same number sampled at nearly the same times); at 15 fps, or with
    skip_nonref: false, every frame is decoded."""
    import av

    clip = tmp_path / "b.mp4"
    with av.open(str(clip), "w") as out:
        s = out.add_stream("libx264", rate=20, options={"bf": "2", "g": "40"})
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        for i in range(80):
            img = np.full((96, 160, 3), (i * 3) % 255, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)

    def run(**cam: object) -> tuple[int, list[float]]:
        cfg = CameraConfig(id="c", url=str(clip), **cam)  # type: ignore[arg-type]
        q: BoundedQueue[Frame] = BoundedQueue(500, policy_for(cfg))
        src = VideoSource(cfg, q, Metrics(), threading.Event())
        src.start()
        got = drain(q, 20)
        return src.captured, [round(f.ts, 2) for f in got]

    all_frames, _ = run(fps=0)
    skipped, sampled = run(fps=5)
    kept, sampled_all = run(fps=5, skip_nonref=False)
    assert all_frames == 80 and kept == 80
    assert skipped < 60  # two B-frames in three not decoded
    # 5 fps of a 4 s clip either way, each sample within two stream frames of the full decode's
    assert len(sampled) == len(sampled_all) == 20
    assert max(abs(a - b) for a, b in zip(sampled, sampled_all, strict=True)) <= 0.1 + 1e-9
    assert run(fps=15)[0] == 80  # above half the rate: everything is decoded
