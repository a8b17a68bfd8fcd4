"""The speaker of a speech segment, decided on everything heard and seen in it so far.

Each voiced window adds its loudness curve and every visible track's mouth samples to the
segment's record (the last ``MAX_SPAN`` seconds are kept). Each track's score is then its
:func:`~emostream.analysis.speaker.sync.synchrony` with the voice over the whole record, not a mean
of per-window scores: a window at the end of a sentence, mostly pause, says little, and averaging it
in would dilute the evidence of the sentence itself.

The segment's speaker is the best-scoring track when its score reaches ``min_sync`` and beats the
runner-up by ``margin``, else nobody (the speaker is off screen, or the evidence does not separate
two mouths). Once a segment has a speaker, another track takes over only by beating it by
``margin``, so one noisy window does not flip the attribution; a speaker whose score falls below
``min_sync`` is decided afresh (an early chance match must not hold a whole segment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emostream.analysis.speaker.sync import GRID_HZ, synchrony

__all__ = ["MAX_SPAN", "Attribution", "SegmentAttributor"]

MAX_SPAN = 15.0  # seconds of a segment the decision looks back over


@dataclass(frozen=True)
class Attribution:
    """The segment's speaker after a window: a track id or None, and the synchrony behind it."""

    track: int | None
    confidence: float | None  # the speaker's synchrony over the segment (0..1), None when nobody
    scores: dict[int, float]  # every scored track's synchrony over the segment so far


@dataclass
class _Segment:
    loud: dict[int, float] = field(default_factory=dict)  # grid index → loudness (dB)
    mouths: dict[int, dict[float, float]] = field(default_factory=dict)  # track → ts → opening
    speaker: int | None = None
    last: Attribution | None = None


class SegmentAttributor:
    """Per-segment evidence and decision (see the module doc); pure, on media time only."""

    def __init__(self, min_sync: float = 0.2, margin: float = 0.15) -> None:
        self.min_sync = min_sync
        self.margin = margin
        self._segments: dict[int, _Segment] = {}

    def update(
        self,
        segment: int,
        grid_t: np.ndarray,
        loud: np.ndarray,
        tracks: list[tuple[int, np.ndarray, np.ndarray]],
    ) -> Attribution:
        """Add one voiced window: its loudness on the grid, and (track, mouth times, openings) of
        every track seen in it."""
        seg = self._segments.setdefault(segment, _Segment())
        for t, v in zip(grid_t, loud, strict=True):
            seg.loud[round(float(t) * GRID_HZ)] = float(v)
        for tid, ts, vals in tracks:
            seg.mouths.setdefault(tid, {}).update(zip(map(float, ts), map(float, vals), strict=True))
        end = max(seg.loud) / GRID_HZ if seg.loud else 0.0
        keys = sorted(k for k in seg.loud if k / GRID_HZ >= end - MAX_SPAN)
        g = np.array(keys, np.float64) / GRID_HZ
        v = np.array([seg.loud[k] for k in keys])
        means: dict[int, float] = {}
        for tid, samples in seg.mouths.items():
            pts = sorted((t, o) for t, o in samples.items() if t >= end - MAX_SPAN)
            if not pts:
                continue
            s = synchrony(g, v, np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
            if s is not None:
                means[tid] = max(s, 0.0)
        seg.speaker = self._decide(seg.speaker, means)
        sp = seg.speaker
        conf = round(min(1.0, means[sp]), 3) if sp is not None else None
        seg.last = Attribution(sp, conf, {k: round(x, 3) for k, x in means.items()})
        return seg.last

    def _decide(self, current: int | None, scores: dict[int, float]) -> int | None:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked:
            return current
        lead, lead_s = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if current is not None and scores.get(current, 0.0) >= self.min_sync:
            if lead != current and lead_s >= scores[current] + self.margin:
                return lead
            return current
        # no speaker yet, or the speaker's evidence has faded below min_sync: decide afresh
        if lead_s >= self.min_sync and lead_s - second >= self.margin:
            return lead
        return None

    def end(self, segment: int) -> Attribution | None:
        """Forget a finished segment; its last attribution (None if it never had a window)."""
        seg = self._segments.pop(segment, None)
        return seg.last if seg is not None else None
