"""Speech emotion: the ONNX classifier of 16 kHz windows.

:class:`SpeechClassifier` runs the speech model (default ``models/speech_cnn.onnx``) on the
features of :func:`emostream.analysis.voice.features.logmel`; its labels and feature settings come from the
model's ONNX metadata, and a model made for other features is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emostream.analysis.voice.features import FEATURE_SPEC, SAMPLE_RATE, clip_windows, logmel
from emostream.errors import AudioError, ModelError
from emostream.runtime import create_session, warm_up
from emostream.types import SPEECH_EMOTIONS, Scores

__all__ = ["DEFAULT_MODEL", "SpeechClassifier"]

DEFAULT_MODEL = "speech_cnn.onnx"


class SpeechClassifier:
    """The speech-emotion model; thread-safe (one onnxruntime session)."""

    def __init__(self, model: str | None = None, threads: int = 1, providers: Sequence[str] = ()) -> None:
        self.path = model or DEFAULT_MODEL
        self.session = create_session(self.path, threads, providers)
        meta = self.session.get_modelmeta().custom_metadata_map
        spec = meta.get("features")
        if spec is not None and spec != FEATURE_SPEC:
            raise ModelError(
                f"model {self.path} expects features {spec!r}, emostream computes {FEATURE_SPEC!r}"
            )
        self.labels: tuple[str, ...] = tuple(meta.get("labels", ",".join(SPEECH_EMOTIONS)).split(","))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.frames = inp.shape[2] if isinstance(inp.shape[2], int) else None  # None: any length
        out = self.session.get_outputs()[0].shape[-1]
        if isinstance(out, int) and out != len(self.labels):
            raise ModelError(f"model {self.path} has {out} outputs but {len(self.labels)} labels")
        warm_up(self.session, (1, inp.shape[1], self.frames or 301, 1))
        # librosa's numba kernels compile on their first call (10 s here with a cold cache): paid at
        # load, not in the first voice window, where the voice thread stalled, a live source's queue
        # overflowed and a file's camera ran ahead of its board's horizon
        logmel(np.zeros(3 * SAMPLE_RATE, np.float32))

    def probs(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """(N, classes) probabilities of N equally long 16 kHz windows."""
        feats = np.stack([logmel(w) for w in windows])[..., None]
        if self.frames is not None and feats.shape[2] != self.frames:
            raise AudioError(f"model {self.path} takes {self.frames} frames, window gives {feats.shape[2]}")
        return self.session.run(None, {self.input_name: feats})[0]

    def classify(self, window: np.ndarray) -> Scores:
        """Scores of one window."""
        p = self.probs([window])[0]
        return Scores(self.labels, tuple(float(v) for v in p))

    def classify_clip(self, y: np.ndarray, window: float = 3.0, hop: float = 1.0) -> np.ndarray:
        """Probabilities of a whole recording: trimmed, cut into windows, averaged (as in training)."""
        return self.probs(clip_windows(y, window, hop)).mean(axis=0)
