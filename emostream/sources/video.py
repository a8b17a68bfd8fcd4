"""Video sources: one capture thread per camera feeding a bounded queue of :class:`Frame`.

Files and streams are decoded with PyAV (anything FFmpeg reads, GIFs included), webcams with
OpenCV. A live source (RTSP/HTTP stream, webcam) that fails or ends is reopened with capped
exponential backoff for as long as the daemon runs (:mod:`emostream.sources.reconnect`); a file
source ends (or loops) at its end. Frames are sampled to the camera's analysis rate *before*
conversion to pixels, so skipped frames cost only their decode; at half the stream's rate or less,
frames no other frame refers to (H.264 B-frames) are not decoded at all (``skip_nonref``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emostream.config import CameraConfig
from emostream.errors import SourceError
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.sources.media import MAX_LEAD, decoded, source_kind
from emostream.sources.pace import Pacer
from emostream.sources.queues import BoundedQueue
from emostream.sources.reconnect import ReconnectingSource
from emostream.types import Frame

__all__ = ["VideoSource", "bgr_pixels"]

# A decoded frame before sampling: media time in seconds (None if unknown) and a pixel getter.
RawFrame = tuple[float | None, Callable[[], np.ndarray]]


def decode_settings(cam: CameraConfig) -> Callable[[Any], None]:
    """How the camera's video stream is decoded (see ``skip_nonref`` and ``decode_threads``)."""

    def configure(stream: Any) -> None:
        ctx = stream.codec_context
        if cam.decode_threads > 1:  # FFmpeg's frame/slice threads: only where cores are spare
            ctx.thread_type, ctx.thread_count = "AUTO", cam.decode_threads
        rate = float(stream.average_rate or 0)
        skip = cam.skip_nonref
        if skip is None:  # auto: frames nothing refers to are not worth decoding at half the rate or less
            skip = cam.fps > 0 and rate > 0 and cam.fps <= rate / 2
        if skip:
            ctx.skip_frame = "NONREF"

    return configure


def bgr_pixels(frame: Any) -> np.ndarray:
    """A decoded PyAV frame as a BGR image. GIFs decode to BGRA: dropping the alpha with OpenCV is
    exact and a quarter of the cost of FFmpeg's general converter (0.03 against 0.12 ms at 480×270);
    every other format (YUV from H.264, …) goes through FFmpeg's converter."""
    if frame.format.name == "bgra":
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_BGRA2BGR)
    return frame.to_ndarray(format="bgr24")


def _pyav_frames(cam: CameraConfig, kind: str, corrupt: Callable[[], None]) -> Iterator[RawFrame]:
    """Frames of a file or stream, pixels converted only when asked for."""
    url, transport = cam.url, cam.rtsp_transport
    options = {"rtsp_transport": transport} if url.lower().startswith("rtsp") and transport != "auto" else {}
    packets = decoded(url, kind, "video", cam.watchdog, options, corrupt, decode_settings(cam))
    for frames, _end, origin in packets:
        for f in frames:
            t = None if f.time is None else f.time - origin
            yield (t, lambda f=f: bgr_pixels(f))


def _webcam_frames(url: str, capture: Callable[[int], Any] = cv2.VideoCapture) -> Iterator[RawFrame]:
    """Frames of webcam ``url`` (a device index) through OpenCV; ``capture`` opens the device."""
    cap = capture(int(url))
    try:
        if not cap.isOpened():
            raise SourceError(f"cannot open webcam {url}")
        while True:
            ok, img = cap.read()
            if not ok or img is None:
                raise SourceError(f"webcam {url} stopped delivering frames")
            yield (None, lambda img=img: img)
    finally:
        cap.release()


class VideoSource(ReconnectingSource):
    """Reads one camera on its own thread and puts sampled frames on ``queue`` until stopped or ended."""

    role = "camera"
    empty = "video frames"

    def __init__(
        self,
        cam: CameraConfig,
        queue: BoundedQueue[Frame],
        metrics: Metrics,
        stop: threading.Event,
        backoff: tuple[float, float] = (0.5, 30.0),
        capture: Callable[[int], Any] = cv2.VideoCapture,  # opens a webcam index (tests: a recording)
    ) -> None:
        m, cid = metrics, cam.id
        self._capture = capture
        series = (m.source_up.labels(cid), m.source_errors.labels(cid), m.reconnects.labels(cid))
        super().__init__(cid, cam.url, source_kind(cam.url), cam.loop, queue, stop, series, backoff)
        self.cam = cam
        self.metrics = metrics
        self._seq = 0
        self.captured = 0
        self._last_ts = -1.0
        self._step = 0.04  # media time between the last two frames; bridges a loop or reconnect
        self._next_sample = 0.0
        self._pacer = Pacer(stop)  # realtime files: one clock across loops (media time continues)

    def _raw(self) -> Iterator[RawFrame]:
        corrupt = self.metrics.frames_dropped.labels(self.cam.id, "corrupt").inc
        if self.kind == "webcam":
            return _webcam_frames(self.cam.url, self._capture)
        if self.kind == "file" and not Path(self.cam.url).is_file():
            raise SourceError(f"cannot open file {redact(self.cam.url)}: no such file")
        return _pyav_frames(self.cam, self.kind, corrupt)

    def play_once(self) -> Iterator[None]:
        """Decode one pass of the source, yielding once per decoded frame (proof of liveness)."""
        captured = self.metrics.frames_captured.labels(self.cam.id)
        depth = self.metrics.queue_depth.labels(self.cam.id)
        decode_hist = self.metrics.stage_seconds.labels("decode")
        interval = 1.0 / self.cam.fps if self.cam.fps > 0 else 0.0
        offset: float | None = None
        t0 = time.perf_counter()
        for media_ts, pixels in self._raw():
            if self._stop.is_set():
                return
            captured.inc()
            self.captured += 1
            now = time.monotonic()
            # Media time must grow across loops and reconnects, or debouncing would go backwards.
            lead = media_ts if media_ts is not None and 0.0 <= media_ts <= MAX_LEAD else None
            if media_ts is None:
                media_ts = now
            if offset is None:
                # The first pass keeps the container's clock (0 = its earliest stream: media.decoded)
                # so a camera's frames and its audio line up; later passes continue where the last
                # one ended. A first timestamp far from the start (a stream joined mid-way) starts at 0.
                first = 0.0 if lead is not None else -media_ts
                offset = (self._last_ts + self._step - media_ts) if self._last_ts >= 0 else first
            ts = max(media_ts + offset, self._last_ts + 1e-6)
            if self._last_ts >= 0:
                self._step = min(ts - self._last_ts, 1.0)
            self._last_ts = ts
            yield
            if ts + 1e-9 < self._next_sample:
                continue
            step = self._next_sample + interval
            self._next_sample = step if step > ts else ts + interval
            if self.cam.realtime and not self.live:
                # only sampled frames wait: the others are decoded in between, on the same clock
                slept = self._pacer.wait(ts)
                if slept is None:
                    return
                t0 += slept
            image = pixels()
            decode_hist.observe(time.perf_counter() - t0)
            frame = Frame(self.cam.id, self._seq, ts, time.time(), image)
            self._seq += 1
            if not self.queue.put(frame):
                return
            depth.set(len(self.queue))
            t0 = time.perf_counter()
