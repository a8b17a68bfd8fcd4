"""Stable face ids across frames: greedy IoU matching with a centre-distance fallback.

Faces on consecutive analysed frames are matched to live tracks by box overlap (best pairs first);
at low analysis rates a fast-moving face may not overlap its previous box, so a face whose centre
lies within one face-width of a track's last centre also continues that track. A track that finds
no face for ``max_gap`` seconds of *media* time is lost; a new one counts only once confirmed (see
:class:`Tracker`). No appearance or identity is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from emostream.analysis.geometry import iou
from emostream.types import Face

__all__ = ["Tracker"]


@dataclass
class _Track:
    id: int
    face: Face
    last_ts: float
    hits: int = 1  # analysed frames on which a face continued this track
    age: int = 1  # analysed frames since the track began
    confirmed: bool = False


class Tracker:
    """Assigns track ids for one camera; call :meth:`update` once per analysed frame in media-time order.

    A new track is *tentative* until a face has continued it on ``confirm_hits`` of its first
    ``confirm_frames`` analysed frames: a one-frame false detection never becomes a track anyone
    hears of, and a tentative track that misses its window is dropped silently (counted in
    ``dropped``). Ids are numbered in order of confirmation, so published ids have no gaps.
    """

    def __init__(
        self, iou_threshold: float = 0.3, max_gap: float = 1.5, confirm_hits: int = 2, confirm_frames: int = 3
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self.confirm_hits = max(1, confirm_hits)
        self.confirm_frames = max(self.confirm_hits, confirm_frames)
        self._tracks: dict[int, _Track] = {}
        self._next_key = 1  # internal key of every track, tentative ones included
        self._next_id = 1  # published id, given at confirmation
        self._ids: dict[int, int] = {}
        self.dropped = 0
        self._ts = float("-inf")  # media time of the last update

    @property
    def active(self) -> int:
        return sum(t.confirmed for t in self._tracks.values())

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

    def update(self, ts: float, faces: list[Face]) -> tuple[list[tuple[int, Face]], list[int]]:
        """Match this frame's faces to tracks; returns ((id, face) of the confirmed tracks seen now, in
        input order; ids of confirmed tracks lost now)."""
        self._ts = ts
        pairs = []
        for key, track in self._tracks.items():
            for fi, face in enumerate(faces):
                score = self._affinity(track, face)
                if score > 0:
                    pairs.append((score, key, fi))
        # Confirmed tracks first among equals, so a tentative twin never steals a real track's face.
        pairs.sort(key=lambda p: (-p[0], not self._tracks[p[1]].confirmed, p[1], p[2]))
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for _, key, fi in pairs:
            if key in used or fi in assigned:
                continue
            assigned[fi] = key
            used.add(key)
        for track in self._tracks.values():
            track.age += 1
        out: list[tuple[int, Face]] = []
        for fi, face in enumerate(faces):
            key = assigned.get(fi)
            if key is None:
                key = self._next_key
                self._next_key += 1
                self._tracks[key] = track = _Track(key, face, ts)
            else:
                track = self._tracks[key]
                track.face, track.last_ts = face, ts
                track.hits += 1
            if not track.confirmed and track.hits >= self.confirm_hits:
                track.confirmed = True
                self._ids[key] = self._next_id
                self._next_id += 1
            if track.confirmed:
                out.append((self._ids[key], face))
        lost: list[int] = []
        for key, t in list(self._tracks.items()):
            expired = ts - t.last_ts > self.max_gap
            if t.confirmed and expired:
                lost.append(self._ids.pop(key))
                del self._tracks[key]
            elif not t.confirmed and (expired or t.age >= self.confirm_frames):
                self.dropped += 1
                del self._tracks[key]
        return out, sorted(lost)

    @property
    def confirmed(self) -> int:
        """Tracks confirmed so far (the published ids given out)."""
        return self._next_id - 1

    def seen_last(self) -> int:
        """Live tracks (tentative included) that a face continued on the last analysed frame."""
        return sum(t.last_ts == self._ts for t in self._tracks.values())

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The last box of every live track, tentative ones included (where to look on the next frame)."""
        return [t.face.box for t in self._tracks.values()]

    def flush(self) -> list[int]:
        """End every track (the source ended); returns the ids of the confirmed ones."""
        lost = sorted(self._ids.values())
        self._tracks.clear()
        self._ids.clear()
        return lost
