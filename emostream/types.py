"""Frozen values that travel between the stages of the data path.

source → queue → detect → classify → track → debounce → sinks: each arrow carries one of these.
They are immutable so that a stage can never change what another stage is still looking at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

FACE_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The seven FER2013 classes, in the order the FER2013 labels (and the fer baseline) use."""

SPEECH_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
"""The eight RAVDESS classes, in the order of RAVDESS's emotion codes 01..08 (the speech model's outputs)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame.

    ``ts`` is the media timestamp in seconds (presentation time for files, time since the
    stream was opened for live sources); everything downstream that reasons about time uses it,
    so a replay of a file gives the same events. ``wall`` is ``time.time()`` at capture and is used
    only for latency metrics and the event's wall-clock field.
    """

    camera: str
    seq: int
    ts: float
    wall: float
    image: np.ndarray = field(repr=False, compare=False)  # H×W×3 BGR uint8


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face in pixel coordinates of the frame it came from."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0)


@dataclass(frozen=True, slots=True)
class Scores:
    """Class probabilities of one face (or one audio window); ``probs`` sums to 1."""

    labels: tuple[str, ...]
    probs: tuple[float, ...]

    @property
    def top(self) -> str:
        return self.labels[int(np.argmax(self.probs))]


@dataclass(frozen=True, slots=True)
class TrackedFace:
    """A classified face with the stable id the tracker gave it."""

    track: int
    face: Face
    scores: Scores


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A block of 16 kHz mono audio from one audio source, as captured (not yet windowed).

    ``ts`` is the media time in seconds of its first sample (sample count / 16 000 since the source
    opened, carried across reconnects and loops); ``wall`` is ``time.time()`` at capture.
    """

    source: str
    seq: int
    ts: float
    wall: float
    samples: np.ndarray = field(repr=False, compare=False)  # (n,) float32 in [-1, 1]


@dataclass(frozen=True, slots=True)
class Event:
    """A published event; ``payload`` is the JSON object described by the shipped schema."""

    camera: str
    type: str
    payload: dict[str, Any] = field(compare=False)
    wall: float = 0.0  # capture wall time of the frame that caused it, for frame-to-publish latency
