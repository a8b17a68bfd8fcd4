"""Stable face ids across frames: greedy IoU matching with a centre-distance fallback.

Faces on consecutive analysed frames are matched to live tracks by box overlap (best pairs first);
at low analysis rates a fast-moving face may not overlap its previous box, so a face whose centre
lies within one face-width of a track's last centre also continues that track. A track that finds
no face for ``max_gap`` seconds of *media* time is lost. No appearance or identity is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from emostream.analysis.geometry import iou
from emostream.types import Face, Observation, TrackedFace

__all__ = ["Tracker"]


@dataclass
class _Track:
    id: int
    face: Face
    last_ts: float


class Tracker:
    """Assigns track ids for one camera; call :meth:`update` once per analysed frame in media-time order."""

    def __init__(self, iou_threshold: float = 0.3, max_gap: float = 1.5) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1

    @property
    def active(self) -> int:
        return len(self._tracks)

    def _affinity(self, track: _Track, face: Face) -> float:
        overlap = iou(track.face.box, face.box)
        if overlap >= self.iou_threshold:
            return 1.0 + overlap
        (tx, ty), (fx, fy) = track.face.center, face.center
        size = max(track.face.width, face.width, 1.0)
        dist = ((tx - fx) ** 2 + (ty - fy) ** 2) ** 0.5 / size
        ratio = min(track.face.width, face.width) / size
        if dist < 1.0 and ratio > 0.5:
            return 1.0 - dist  # in (0, 1]: always ranked below any overlap match
        return 0.0

    def update(self, ts: float, observations: list[Observation]) -> tuple[list[TrackedFace], list[int]]:
        """Match this frame's faces to tracks; returns (tracked faces in input order, ids lost now)."""
        pairs = []
        for ti, track in self._tracks.items():
            for oi, obs in enumerate(observations):
                score = self._affinity(track, obs.face)
                if score > 0:
                    pairs.append((score, ti, oi))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        assigned: dict[int, int] = {}
        used_tracks: set[int] = set()
        for _, ti, oi in pairs:
            if ti in used_tracks or oi in assigned:
                continue
            assigned[oi] = ti
            used_tracks.add(ti)
        out: list[TrackedFace] = []
        for oi, obs in enumerate(observations):
            ti = assigned.get(oi)
            if ti is None:
                ti = self._next_id
                self._next_id += 1
                self._tracks[ti] = _Track(ti, obs.face, ts)
            track = self._tracks[ti]
            track.face, track.last_ts = obs.face, ts
            out.append(TrackedFace(ti, obs.face, obs.scores))
        lost = sorted(ti for ti, t in self._tracks.items() if ts - t.last_ts > self.max_gap)
        for ti in lost:
            del self._tracks[ti]
        return out, lost

    def flush(self) -> list[int]:
        """End every track (the source ended); returns their ids."""
        lost = sorted(self._tracks)
        self._tracks.clear()
        return lost
