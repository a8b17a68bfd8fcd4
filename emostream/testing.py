"""Finite in-memory sources and a list sink, for tests (ours and users') of the daemon's wiring.

A pipeline built with ``sources=finite_sources({...})`` reads each camera's frames or each audio
source's chunks from a list instead of a camera, and ends when the lists are exhausted, so a test
runs the real detector, classifier, tracker, debouncer and sinks without FFmpeg, RTSP or data files::

    sink = ListSink()
    pipe = Pipeline(cfg, sinks=[sink], sources=finite_sources({"cam": frames_of("cam", images, fps=5)}))
    pipe.start(); pipe.wait(); pipe.stop()
    assert [e.type for e in sink.events][0] == "face.appeared"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from emostream.config import AudioSourceConfig, CameraConfig
from emostream.metrics import Metrics
from emostream.sources import Source, SourceFactory, kind_of
from emostream.sources.queues import BoundedQueue
from emostream.types import AudioChunk, Event, Frame, TrackedFace

__all__ = ["ListSink", "ListSource", "chunks_of", "finite_sources", "frames_of"]


def frames_of(camera: str, images: Iterable[np.ndarray], fps: float = 5.0) -> list[Frame]:
    """Frames of ``images`` at ``fps`` of media time, starting at 0."""
    now = time.time()
    return [Frame(camera, i, i / fps, now, img) for i, img in enumerate(images)]


def chunks_of(source: str, samples: np.ndarray, rate: int = 16_000, chunk: float = 0.1) -> list[AudioChunk]:
    """16 kHz mono ``samples`` cut into chunks of ``chunk`` seconds (the last one may be shorter)."""
    n = max(1, round(rate * chunk))
    now = time.time()
    return [
        AudioChunk(source, k, i / rate, now, samples[i : i + n])
        for k, i in enumerate(range(0, len(samples), n))
    ]


class ListSource:
    """Puts a list of items on the queue from its own thread, then closes it (a source that ends)."""

    def __init__(
        self, items: Sequence[Any], queue: BoundedQueue[Any], stop: threading.Event, kind: str
    ) -> None:
        self.items = list(items)
        self.queue = queue
        self.kind = kind
        self.error: str | None = None
        self.captured = 0
        self._stop = stop
        self.thread = threading.Thread(target=self._run, name="list-source", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.items:
                if self._stop.is_set() or not self.queue.put(item):
                    return
                self.captured += 1
        finally:
            self.queue.close()


def finite_sources(items: Mapping[str, Sequence[Frame] | Sequence[AudioChunk]]) -> SourceFactory:
    """A ``Pipeline(sources=...)`` factory reading each configured source's items from ``items``, by
    source id; a configured source with no entry delivers nothing and ends."""

    def open_source(
        spec: CameraConfig | AudioSourceConfig,
        queue: BoundedQueue[Any],
        metrics: Metrics,
        stop: threading.Event,
    ) -> Source:
        return ListSource(items.get(spec.id, ()), queue, stop, kind_of(spec))

    return open_source


class ListSink:
    """Keeps every event (and counts frames) it is handed; thread-safe."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.frames = 0
        self.closed = False
        self._lock = threading.Lock()

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        with self._lock:
            self.events.extend(events)
            self.frames += frame is not None

    def close(self) -> None:
        self.closed = True

    def of_type(self, kind: str) -> list[Event]:
        """The events of one type (``face.appeared``, ``emotion.changed`` …), in order."""
        with self._lock:
            return [e for e in self.events if e.type == kind]
