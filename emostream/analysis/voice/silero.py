"""Voice activity detection with Silero VAD (MIT), the daemon's default: is a window speech?

``models/silero_vad_16k_sequence.onnx`` is Silero's 16 kHz model in its sequence form: it takes a
whole window as rows of 576 samples (each 32 ms chunk of 512 with the 64 samples before it) and
returns one speech probability per chunk, carrying its LSTM state along the window; the state
starts at zero for every window, so windows are judged independently and the detector is
thread-safe. Unlike a voicing detector it was trained against music and noise: a hum or a chord is
periodic but not speech. A chunk is voiced when its probability is ≥ ``min_prob`` and it is loud
enough (RMS ≥ ``min_dbfs``); the window is speech when ≥ ``min_voiced`` of its chunks are.
Copied from the ``silero-vad`` wheel by ``export/silero_vad.py``; card: ``models/silero_vad_16k_sequence.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emostream.analysis.voice.features import check_audio
from emostream.analysis.voice.vad import VadResult, verdict
from emostream.runtime import create_session, models_dir

__all__ = ["SILERO_MODEL", "SileroVAD"]

SILERO_MODEL = "silero_vad_16k_sequence.onnx"
CHUNK = 512  # 32 ms at 16 kHz
CONTEXT = 64


class SileroVAD:
    """Silero's per-chunk speech probability, turned into a window verdict (see the module doc)."""

    def __init__(
        self,
        min_dbfs: float = -65.0,
        min_voiced: float = 0.1,
        min_prob: float = 0.5,
        model: str | Path | None = None,
        providers: Sequence[str] = (),
    ) -> None:
        self.min_dbfs, self.min_voiced, self.min_prob = min_dbfs, min_voiced, min_prob
        self.session = create_session(model or models_dir() / SILERO_MODEL, 1, providers)
        self._zero = np.zeros((1, 1, 128), np.float32)

    def frames(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per 32 ms chunk: RMS in dBFS and speech probability."""
        a = check_audio(y)
        n = max(1, -(-len(a) // CHUNK))
        padded = np.zeros(CONTEXT + n * CHUNK, np.float32)
        padded[CONTEXT : CONTEXT + len(a)] = a
        rows = np.lib.stride_tricks.sliding_window_view(padded, CHUNK + CONTEXT)[::CHUNK][:n]
        feeds = {"input": np.ascontiguousarray(rows), "h": self._zero, "c": self._zero}
        probs, _h, _c = self.session.run(None, feeds)
        chunks = rows[:, CONTEXT:].astype(np.float64)
        db = 10.0 * np.log10(np.maximum(np.mean(chunks**2, axis=1), 1e-20))
        return db, np.asarray(probs, np.float64).reshape(-1)

    def __call__(self, y: np.ndarray) -> VadResult:
        a = check_audio(y)
        db, prob = self.frames(a)
        return verdict(a, (db >= self.min_dbfs) & (prob >= self.min_prob), self.min_voiced)
