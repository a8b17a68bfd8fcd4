"""The voice side of speaker attribution: one audio source tied to one camera's board.

:class:`SpeakerLink` is what a :class:`~emostream.analysis.voice.analyzer.VoiceAnalyzer` calls for
each voiced window and at the end of each segment. It waits (boundedly) for the camera to reach the
window's end, scores every track's mouth against the window's loudness, updates the segment's
attribution, stamps ``speaker_track`` / ``speaker_confidence`` on the voice decisions, and once the
same track has been the speaker for ``CONFIRM`` windows in a row, fuses its face scores with the
voice's into a ``person.emotion`` decision (modality ``fused``, keyed by the face track, debounced
like the others). The confirmation keeps a segment's first, still ambiguous, windows from giving a
listener a fused emotion of its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from emostream.analysis.debounce import Debouncer, Decision
from emostream.analysis.speaker.attribution import Attribution, SegmentAttributor
from emostream.analysis.speaker.board import SpeakerBoard
from emostream.analysis.speaker.fusion import fuse, speech_to_common
from emostream.analysis.speaker.sync import loudness
from emostream.config import Config
from emostream.types import FACE_EMOTIONS

__all__ = ["CONFIRM", "OFFLINE_WAIT", "SpeakerLink"]

CONFIRM = 2  # consecutive windows with the same speaker before fused estimates start
# A board that follows its voice belongs to a file read as fast as analysis goes: no live edge to
# keep up with, so the voice waits for the picture however slow the machine is (the camera's end
# releases it sooner); ``speaker.wait`` bounds the wait for live cameras only.
OFFLINE_WAIT = 3600.0


class SpeakerLink:
    """Attribution and fusion for one audio source (see the module doc)."""

    def __init__(self, board: SpeakerBoard, cfg: Config, sample_rate: int) -> None:
        s, d = cfg.speaker, cfg.debounce
        self.board = board
        self.sr = sample_rate
        self.wait = OFFLINE_WAIT if board.follow_voice else s.wait
        self.voice_weight = s.voice_weight
        self.attributor = SegmentAttributor(s.min_sync, s.margin)
        self.fused = Debouncer(FACE_EMOTIONS, d.half_life, d.enter, d.margin, d.min_dwell)
        self._fused_keys: dict[int, set[int]] = {}  # segment → face tracks with fused estimates
        self._streak: tuple[int, int | None, int] = (0, None, 0)  # segment, speaker, windows in a row
        self.last: Attribution | None = None
        self.windows = 0
        self.attributed = 0

    def window(
        self,
        segment: int,
        ts: float,
        samples: np.ndarray,
        voice_probs: np.ndarray,
        voice_labels: tuple[str, ...],
        decisions: list[Decision],
    ) -> list[Decision]:
        """The voice decisions of one voiced window ending at ``ts``, stamped with the speaker, plus
        the fused decisions of the speaker's face track."""
        self.board.wait_until(ts, self.wait)
        t0 = ts - len(samples) / self.sr
        grid_t, loud = loudness(samples, self.sr, ts)
        tracks = self.board.window(t0, ts)
        att = self.attributor.update(
            segment, grid_t, loud, [(tw.track, tw.mouth_ts, tw.mouth) for tw in tracks]
        )
        self.last = att
        self.windows += 1
        out = [self._stamp(d, att) for d in decisions]
        seg, sp, n = self._streak
        self._streak = (segment, att.track, n + 1 if (seg, sp) == (segment, att.track) else 1)
        if att.track is None:
            return out
        self.attributed += 1
        if self._streak[2] < CONFIRM:
            return out
        face = next((tw for tw in tracks if tw.track == att.track), None)
        if face is None or face.face is None:
            return out  # the speaker's face was not classified inside the window: nothing to fuse
        probs, shares = fuse(face.face, speech_to_common(voice_probs, voice_labels), self.voice_weight)
        extra = {
            "segment": segment,
            "fusion": shares,
            "speaker_confidence": att.confidence,
            **({"box": list(face.box)} if face.box is not None else {}),
        }
        self._fused_keys.setdefault(segment, set()).add(att.track)
        for d in self.fused.update(att.track, ts, probs):
            out.append(dataclasses.replace(d, modality="fused", extra=extra))
        return out

    def end(self, segment: int, ts: float, decisions: list[Decision]) -> list[Decision]:
        """The segment ended at ``ts``: its last voice decisions stamped with the final attribution,
        and the end of each of its fused tracks (``person.stopped``)."""
        att = self.attributor.end(segment) or self.last
        out = [self._stamp(d, att) for d in decisions]
        for track in sorted(self._fused_keys.pop(segment, ())):
            d = self.fused.end(track, ts)
            if d is not None:
                out.append(dataclasses.replace(d, modality="fused", extra={"segment": segment}))
        return out

    @staticmethod
    def _stamp(d: Decision, att: Attribution | None) -> Decision:
        extra = dict(d.extra or {})
        extra["speaker_track"] = att.track if att is not None else None
        extra["speaker_confidence"] = att.confidence if att is not None else None
        return dataclasses.replace(d, extra=extra)
