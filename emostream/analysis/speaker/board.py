"""A camera's tracks as the voice analysis needs them: mouth openings and face scores on media time.

The camera's analysis thread writes (:meth:`SpeakerBoard.add_mouth`, :meth:`add_face`,
:meth:`advance`); the voice analysis thread of the audio source tied to that camera reads a window
of it (:meth:`window`). A voice window ending at media time ``t`` can only be attributed once the
video has been analysed up to ``t``: :meth:`wait_until` blocks the voice thread until then, or until
``timeout`` seconds of wall time pass (camera down or slower than the audio: the window is
attributed with what there is). Only the last ``horizon`` seconds are kept: behind the video, or,
with ``follow_voice`` (a file read as fast as analysis goes, where the camera may run far ahead of
the audio), behind whichever of video and voice (:meth:`heard`) is further back.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["SpeakerBoard", "TrackWindow"]


@dataclass(frozen=True)
class TrackWindow:
    """One track's samples inside a window: mouth openings and face probabilities, on media time."""

    track: int
    mouth_ts: np.ndarray
    mouth: np.ndarray
    face: np.ndarray | None  # mean face probabilities over the window (FACE_EMOTIONS order), or None
    box: tuple[float, float, float, float] | None  # last normalised [x, y, w, h] in the window


class SpeakerBoard:
    """Thread-safe per-camera store of mouth and face samples (see the module doc)."""

    def __init__(self, camera: str, horizon: float = 12.0, follow_voice: bool = False) -> None:
        self.camera = camera
        self.horizon = horizon
        self.follow_voice = follow_voice
        self._heard_ts = 0.0  # how far the voice analysis got (media time), with follow_voice
        self._cond = threading.Condition()
        self._mouth: dict[int, deque[tuple[float, float]]] = {}
        self._face: dict[int, deque[tuple[float, np.ndarray, tuple[float, float, float, float]]]] = {}
        self._video_ts = -1.0
        self._closed = False

    def add_mouth(self, track: int, ts: float, opening: float) -> None:
        with self._cond:
            self._mouth.setdefault(track, deque()).append((ts, opening))

    def add_face(
        self, track: int, ts: float, probs: np.ndarray, box: tuple[float, float, float, float]
    ) -> None:
        with self._cond:
            self._face.setdefault(track, deque()).append((ts, np.asarray(probs, np.float64), box))

    def advance(self, ts: float) -> None:
        """The camera has analysed every frame up to media time ``ts``."""
        with self._cond:
            self._video_ts = max(self._video_ts, ts)
            cut = (min(ts, self._heard_ts) if self.follow_voice else ts) - self.horizon
            for store in (self._mouth, self._face):
                for tid in list(store):
                    q = store[tid]
                    while q and q[0][0] < cut:
                        q.popleft()
                    if not q:
                        del store[tid]
            self._cond.notify_all()

    def heard(self, ts: float) -> None:
        """The voice analysis has heard everything up to media time ``ts``."""
        with self._cond:
            self._heard_ts = max(self._heard_ts, ts)

    def close(self) -> None:
        """The camera ended: nothing more will come, waiting is pointless."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def video_ts(self) -> float:
        with self._cond:
            return self._video_ts

    def wait_until(self, ts: float, timeout: float) -> bool:
        """Block until the video is analysed up to ``ts`` (True), the camera ends or ``timeout`` s pass."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or self._video_ts >= ts, timeout) and (
                self._video_ts >= ts
            )

    def window(self, t0: float, t1: float) -> list[TrackWindow]:
        """Every track with a mouth sample in [t0, t1]: its samples there, its mean face scores."""
        out = []
        with self._cond:
            for tid, q in self._mouth.items():
                pts = [(t, v) for t, v in q if t0 <= t <= t1]
                if not pts:
                    continue
                faces = [(p, b) for t, p, b in self._face.get(tid, ()) if t0 <= t <= t1]
                face = np.mean([p for p, _ in faces], axis=0) if faces else None
                ts, vals = np.array([t for t, _ in pts]), np.array([v for _, v in pts])
                out.append(TrackWindow(tid, ts, vals, face, faces[-1][1] if faces else None))
        return out
