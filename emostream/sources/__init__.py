"""Where frames and audio come from: cameras, files, microphones, streams, each on its own thread.

Every source puts frozen items (:class:`~emostream.types.Frame`, :class:`~emostream.types.AudioChunk`)
on a :class:`~emostream.sources.queues.BoundedQueue` and closes it when it ends. :func:`open_source`
builds the real one for a configured camera or audio source; :mod:`emostream.testing` has finite
in-memory ones with the same shape.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from emostream.config import AudioSourceConfig, CameraConfig
from emostream.metrics import Metrics
from emostream.sources.audio import AudioSource, audio_kind
from emostream.sources.media import source_kind
from emostream.sources.queues import BoundedQueue, DropPolicy
from emostream.sources.video import VideoSource

__all__ = ["Source", "SourceFactory", "kind_of", "offline", "open_source", "queue_policy"]


class Source(Protocol):
    """What the daemon needs of a source: start it, watch its thread, count what it captured."""

    kind: str
    thread: threading.Thread
    error: str | None

    @property
    def captured(self) -> int: ...

    def start(self) -> None: ...


class SourceFactory(Protocol):
    def __call__(
        self,
        spec: CameraConfig | AudioSourceConfig,
        queue: BoundedQueue[Any],
        metrics: Metrics,
        stop: threading.Event,
    ) -> Source: ...


def kind_of(spec: CameraConfig | AudioSourceConfig) -> str:
    """``file``, ``stream``, ``webcam`` (cameras) or ``mic`` (audio)."""
    return source_kind(spec.url) if isinstance(spec, CameraConfig) else audio_kind(spec.url)


def offline(spec: CameraConfig | AudioSourceConfig) -> bool:
    """A file read as fast as analysis goes: no live edge to keep up with (its media time runs ahead
    of the wall clock, and a camera's tied audio may lag or lead it at will)."""
    return kind_of(spec) == "file" and not spec.realtime


def queue_policy(spec: CameraConfig | AudioSourceConfig) -> DropPolicy:
    """Live sources (and files paced at real time, which behave like live) drop the oldest item;
    files read as fast as analysis goes block and lose nothing."""
    return DropPolicy.BLOCK if offline(spec) else DropPolicy.DROP_OLDEST


def open_source(
    spec: CameraConfig | AudioSourceConfig,
    queue: BoundedQueue[Any],
    metrics: Metrics,
    stop: threading.Event,
) -> Source:
    """The real source for a configured camera (video) or audio source."""
    if isinstance(spec, CameraConfig):
        return VideoSource(spec, queue, metrics, stop)
    return AudioSource(spec, queue, metrics, stop)
