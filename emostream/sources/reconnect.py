"""The one capture loop of every source: play, and when a live source fails, reopen with backoff.

A :class:`ReconnectingSource` runs on its own thread. Subclasses say how to play the source once
(:meth:`~ReconnectingSource.play_once`, a generator that yields once per item delivered, as proof of
life). The loop here owns what all sources share: the ``up`` gauge, error and reconnect counters,
capped exponential backoff with jitter for live sources (so cameras that went down together do not
all come back in the same instant), one log line per failure, and the end of a file (stop, loop,
or a one-line error when it held nothing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from emostream.errors import SourceError
from emostream.redact import redact
from emostream.retry import backoff_delay
from emostream.sources.queues import BoundedQueue

__all__ = ["ReconnectingSource"]

log = logging.getLogger("emostream.sources")


class ReconnectingSource:
    """Base of the video and audio sources: ``start()``, then the thread feeds ``queue`` until the
    source ends or ``stop`` is set; the queue is closed either way."""

    role = "source"  # the word log lines start with: "camera", "audio"
    empty = "items"  # what a file that delivered nothing lacked: "frames", "audio samples"

    def __init__(
        self,
        sid: str,
        url: str,
        kind: str,
        loop: bool,
        queue: BoundedQueue[Any],
        stop: threading.Event,
        series: tuple[Any, Any, Any],
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.sid = sid
        self.url = url
        self.kind = kind
        self.loop = loop
        self.queue = queue
        self._stop = stop
        self._up, self._errors, self._reconnects = series  # pre-bound metric children
        self._backoff = backoff
        self.delivered_total = 0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"{self.role}-{sid}", daemon=True)

    @property
    def live(self) -> bool:
        return self.kind != "file"

    def start(self) -> None:
        self.thread.start()

    def play_once(self) -> Iterator[None]:
        """One pass over the source, yielding once per item put on the queue (or decoded)."""
        raise NotImplementedError

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    delivered = 0
                    for _ in self.play_once():
                        if not delivered:
                            failures = 0
                            self._up.set(1)
                        delivered += 1
                    self.delivered_total += delivered
                    if self._stop.is_set():
                        return
                    if not self.live:
                        if not self.delivered_total:
                            raise SourceError(f"file {redact(self.url)} holds no {self.empty}")
                        if not self.loop or not delivered:
                            return  # a file that has ended: not an error
                        continue
                    raise SourceError(f"{self.kind} {redact(self.url)} ended")
                except SourceError as exc:
                    self._up.set(0)
                    self.error = str(exc)
                    self._errors.inc()
                    if not self.live:
                        log.error("%s %s: %s", self.role, self.sid, exc)
                        return
                    failures += 1
                    delay = backoff_delay(failures, *self._backoff, jitter=0.1)
                    log.warning("%s %s: %s; reconnecting in %.2fs", self.role, self.sid, exc, delay)
                    if self._stop.wait(delay):
                        return
                    self._reconnects.inc()
        finally:
            self._up.set(0)
            self.queue.close()
