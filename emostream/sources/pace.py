"""Files played at their own pace (``realtime: true``): one media clock per source, across loops.

A :class:`Pacer` holds a source to the wall clock from the first item it paces until the source is
stopped. The anchor outlives a pass of the file: a looping file's media time keeps growing across
passes (the sources continue it), so the second pass is paced against the same anchor as the first.
Anchored anew at each pass instead, everything decoded before a pass's first paced item went out
at once: 3 s clips sampled at 5 frames/s gave 5.25-5.3 frames/s, a 1.83 s one was 0.39 s ahead of
the wall clock after two passes, and a looping file's audio and video drifted apart.

A source that falls more than ``slack`` seconds behind its clock (a machine too busy to decode in
real time, a file that could not be reopened for a while) is anchored anew where it is, rather than
delivering the backlog in a burst, as a live camera that froze would not replay what it missed.
"""

from __future__ import annotations

import threading
import time

__all__ = ["Pacer"]


class Pacer:
    """Waits until an item's media time is due on the wall clock."""

    def __init__(self, stop: threading.Event, slack: float = 1.0) -> None:
        self._stop = stop
        self.slack = slack
        self._anchor: tuple[float, float] | None = None  # (monotonic time, media time) paced from

    def wait(self, media_ts: float) -> float | None:
        """Sleep until ``media_ts`` is due; the seconds slept, or None when the source was stopped."""
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (now, media_ts)
            return 0.0
        due = self._anchor[0] + (media_ts - self._anchor[1])
        if now - due > self.slack or media_ts < self._anchor[1]:
            self._anchor = (now, media_ts)  # far behind, or media time went back: start again here
            return 0.0
        wait = due - now
        if wait <= 0:
            return 0.0
        return None if self._stop.wait(wait) else wait
