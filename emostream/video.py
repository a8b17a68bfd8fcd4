"""Video sources: one capture thread per camera feeding a bounded queue of :class:`Frame`.

Files and streams are decoded with PyAV (anything FFmpeg reads, GIFs included), webcams with
OpenCV. A live source (RTSP/HTTP stream, webcam) that fails or ends is reopened with capped
exponential backoff for as long as the daemon runs; a file source ends (or loops) at its end.
Frames are sampled to the camera's analysis rate *before* conversion to pixels, so skipped frames
cost only their decode.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from .config import CameraConfig
from .metrics import Metrics
from .queues import BoundedQueue, DropPolicy
from .retry import backoff_delay
from .types import Frame

log = logging.getLogger("emostream.video")

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
OPEN_TIMEOUT = 10.0


def redact(text: str) -> str:
    """Replace the ``user:password@`` part of every URL in ``text`` with ``***@``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def source_kind(url: str) -> str:
    """``webcam`` for a device index, ``stream`` for a network URL, ``file`` otherwise."""
    if url.strip().isdigit():
        return "webcam"
    if re.match(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp|srt)://", url, re.IGNORECASE):
        return "stream"
    return "file"


def policy_for(cam: CameraConfig) -> DropPolicy:
    """Live sources drop the oldest frame; files block (or, at real-time pace, behave like live)."""
    if source_kind(cam.url) == "file" and not cam.realtime:
        return DropPolicy.BLOCK
    return DropPolicy.DROP_OLDEST


class SourceError(RuntimeError):
    """A source could not be opened or read; the message is one line with credentials redacted."""


# A decoded frame before sampling: media time in seconds (None if unknown) and a pixel getter.
RawFrame = tuple[float | None, Callable[[], np.ndarray]]


def _pyav_frames(
    url: str, kind: str, corrupt: Callable[[], None], transport: str = "auto", watchdog: float = 10.0
) -> Iterator[RawFrame]:
    """Frames of a file or stream. A live stream that yields no frame for ``watchdog`` seconds fails:
    a blocked read is interrupted by PyAV's read timeout, and a stream that still sends packets but no
    decodable picture is caught by the check between packets."""
    options = {"rtsp_transport": transport} if url.lower().startswith("rtsp") and transport != "auto" else {}
    live = kind != "file"
    try:
        container = av.open(url, options=options, timeout=(OPEN_TIMEOUT, watchdog))
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(f"cannot open {kind} {redact(url)}: {redact(_reason(exc))}") from None
    try:
        if not container.streams.video:
            raise SourceError(f"{kind} {redact(url)} has no video stream")
        stream = container.streams.video[0]
        last_frame = time.monotonic()
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.InvalidDataError:
                corrupt()
                decoded = []
            if decoded:
                last_frame = time.monotonic()
            elif live and time.monotonic() - last_frame > watchdog:
                raise SourceError(f"{kind} {redact(url)} gave no picture for {watchdog:g} s")
            for f in decoded:
                yield (f.time, lambda f=f: f.to_ndarray(format="bgr24"))
    except av.FFmpegError as exc:
        raise SourceError(f"{kind} {redact(url)} failed while reading: {redact(_reason(exc))}") from None
    finally:
        container.close()


def _webcam_frames(url: str) -> Iterator[RawFrame]:
    cap = cv2.VideoCapture(int(url))
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


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class VideoSource:
    """Reads one camera on its own thread and puts sampled frames on ``queue`` until stopped or ended."""

    def __init__(
        self,
        cam: CameraConfig,
        queue: BoundedQueue[Frame],
        metrics: Metrics,
        stop: threading.Event,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.cam = cam
        self.kind = source_kind(cam.url)
        self.queue = queue
        self.metrics = metrics
        self._stop = stop
        self._backoff = backoff
        self._seq = 0
        self.captured = 0
        self._last_ts = -1.0
        self._step = 0.04  # media time between the last two frames; bridges a loop or reconnect
        self._next_sample = 0.0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"capture-{cam.id}", daemon=True)

    @property
    def live(self) -> bool:
        return self.kind != "file"

    def start(self) -> None:
        self.thread.start()

    def _raw(self) -> Iterator[RawFrame]:
        corrupt = self.metrics.frames_dropped.labels(self.cam.id, "corrupt").inc
        if self.kind == "webcam":
            return _webcam_frames(self.cam.url)
        if self.kind == "file" and not Path(self.cam.url).is_file():
            raise SourceError(f"cannot open file {redact(self.cam.url)}: no such file")
        return _pyav_frames(self.cam.url, self.kind, corrupt, self.cam.rtsp_transport, self.cam.watchdog)

    def _run(self) -> None:
        up = self.metrics.source_up.labels(self.cam.id)
        failures = 0
        try:
            while not self._stop.is_set():
                is_up = False
                try:
                    for _ in self._play_once():
                        if not is_up:
                            is_up, failures = True, 0
                            up.set(1)
                    if self._stop.is_set() or (not self.live and not self.cam.loop):
                        return  # stopped by us, or a file that has ended: not an error
                    if not self.live:
                        continue
                    raise SourceError(f"{self.kind} {redact(self.cam.url)} ended")
                except SourceError as exc:
                    up.set(0)
                    self.error = str(exc)
                    self.metrics.source_errors.labels(self.cam.id).inc()
                    if not self.live:
                        log.error("camera %s: %s", self.cam.id, exc)
                        return
                    failures += 1
                    delay = backoff_delay(failures, *self._backoff, jitter=0.1)
                    log.warning("camera %s: %s; reconnecting in %.2fs", self.cam.id, exc, delay)
                    if self._stop.wait(delay):
                        return
                    self.metrics.reconnects.labels(self.cam.id).inc()
        finally:
            up.set(0)
            self.queue.close()

    def _play_once(self) -> Iterator[None]:
        """Decode one pass of the source, yielding once per decoded frame (proof of liveness)."""
        captured = self.metrics.frames_captured.labels(self.cam.id)
        depth = self.metrics.queue_depth.labels(self.cam.id)
        decode_hist = self.metrics.stage_seconds.labels("decode")
        interval = 1.0 / self.cam.fps if self.cam.fps > 0 else 0.0
        offset: float | None = None
        pace_origin: tuple[float, float] | None = None
        t0 = time.perf_counter()
        for media_ts, pixels in self._raw():
            if self._stop.is_set():
                return
            captured.inc()
            self.captured += 1
            now = time.monotonic()
            # Media time must grow across loops and reconnects, or debouncing would go backwards.
            if media_ts is None:
                media_ts = now
            if offset is None:
                offset = (self._last_ts + self._step - media_ts) if self._last_ts >= 0 else -media_ts
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
                pace_origin = pace_origin or (now, ts)
                wait = pace_origin[0] + (ts - pace_origin[1]) - now
                if wait > 0 and self._stop.wait(wait):
                    return
                t0 += max(wait, 0.0)
            image = pixels()
            decode_hist.observe(time.perf_counter() - t0)
            frame = Frame(self.cam.id, self._seq, ts, time.time(), image)
            self._seq += 1
            if not self.queue.put(frame):
                return
            depth.set(len(self.queue))
            t0 = time.perf_counter()
