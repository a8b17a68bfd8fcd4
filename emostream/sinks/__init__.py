"""Where events go: the Redis publisher (with its disk spool), debug snapshots, and any user sink.

A sink is anything with ``write`` and ``close`` (:class:`Sink`). The daemon hands every sink the
events of each analysed frame or audio window, together with the frame and its tracked faces when
there is one, so sinks that need pixels (snapshots, a report's annotated video) and sinks that only
need events (Redis, a list in a test, a printer) share one interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from emostream.types import Event, Frame, TrackedFace

__all__ = ["Sink"]


class Sink(Protocol):
    """Receives the events of one analysed item; called from analysis threads, so thread-safe."""

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None: ...

    def close(self) -> None:
        """No more writes: flush what is held (the pipeline closes sinks after analysis ended)."""
        ...
