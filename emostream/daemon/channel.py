"""One camera or one microphone wired up: source thread → bounded queue → analysis thread → sinks.

Cameras and audio sources are the same shape: a source fills a queue, an analyzer turns each item
into debouncer decisions, and the decisions become events that every sink receives, with the frame
and its tracked faces when the item is a frame. The pipeline starts the analysis before the
capture and stops in data-flow order: the source stops and closes the queue, the analysis drains
it, ends every open track or segment and returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from emostream.analysis.debounce import Decision
from emostream.sinks import Sink
from emostream.sinks.events import build_event
from emostream.sources import Source
from emostream.sources.queues import BoundedQueue, Closed
from emostream.types import Frame, TrackedFace

__all__ = ["Analyzer", "Channel"]

log = logging.getLogger("emostream.pipeline")


class Analyzer(Protocol):
    """Turns one source's items, in media-time order, into decisions (face or voice)."""

    camera: str  # the ``camera`` of the events
    modality: str  # "face" | "voice"
    tracked: list[TrackedFace]  # the last item's tracked faces (empty for voice)

    def process(self, item: Any) -> list[Decision]: ...

    def finish(self, ts: float) -> list[Decision]: ...


A = TypeVar("A", bound=Analyzer)


class Channel(Generic[A]):
    """A source, its queue and its analysis thread; events go to ``sinks``."""

    def __init__(
        self,
        name: str,  # "camera <id>" or "audio <id>", as log lines name it
        source: Source,
        queue: BoundedQueue[Any],
        analyzer: A,
        sinks: Sequence[Sink],
        on_error: Callable[[], None] = lambda: None,
        on_item: Callable[[int], None] = lambda _depth: None,
    ) -> None:
        self.name = name
        self.source = source
        self.queue = queue
        self.analyzer = analyzer
        self._sinks = sinks
        self._on_error = on_error  # counts an item whose analysis raised
        self._on_item = on_item  # sees the queue depth after each get
        self.thread = threading.Thread(target=self._run, name=f"analyse-{name.split()[-1]}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.source.start()

    def _emit(self, decisions: list[Decision], wall: float, frame: Frame | None) -> None:
        a = self.analyzer
        events = [build_event(a.camera, d.modality or a.modality, d, wall) for d in decisions]
        faces = a.tracked if frame is not None else ()
        for sink in self._sinks:
            sink.write(events, frame, faces)

    def _run(self) -> None:
        a = self.analyzer
        last_ts, last_wall = 0.0, time.time()
        while True:
            try:
                item = self.queue.get(timeout=0.5)
            except Closed:
                break
            if item is None:
                continue
            self._on_item(len(self.queue))
            last_ts, last_wall = item.ts, item.wall
            try:
                decisions = a.process(item)
            except Exception:  # a bad frame or chunk must not take the source down
                unit = "frame" if isinstance(item, Frame) else "chunk"
                log.exception("%s: analysis failed on %s %d; skipped", self.name, unit, item.seq)
                self._on_error()
                continue
            self._emit(decisions, item.wall, item if isinstance(item, Frame) else None)
        self._emit(a.finish(last_ts), last_wall, None)
