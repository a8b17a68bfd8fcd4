"""Face and voice probabilities on one label set, combined by how sure each side is.

The common labels are the face model's seven (:data:`~emostream.types.FACE_EMOTIONS`). The voice
model's eight RAVDESS classes map onto them: neutral and **calm** both to neutral (the face model has
no calm, and a calm face is a neutral one), fearful to fear, surprised to surprise, the others by
name. No class is then missing on either side, so nothing is dropped or renormalised away.

Each side's weight is the configured prior (``voice_weight`` for the voice, 1 − that for the face)
times its certainty, the margin of its top probability over uniform (0 for a flat distribution, 1
for a one-hot one): a confident voice outweighs a face the classifier cannot read, and the other
way round. The weights, normalised, are the published evidence shares.
"""

from __future__ import annotations

import numpy as np

from emostream.types import FACE_EMOTIONS, SPEECH_EMOTIONS

__all__ = ["SPEECH_TO_COMMON", "fuse", "speech_to_common"]

SPEECH_TO_COMMON = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
}
_MAP = np.zeros((len(SPEECH_EMOTIONS), len(FACE_EMOTIONS)))
for _i, _lb in enumerate(SPEECH_EMOTIONS):
    _MAP[_i, FACE_EMOTIONS.index(SPEECH_TO_COMMON[_lb])] = 1.0


def speech_to_common(probs: np.ndarray, labels: tuple[str, ...] = SPEECH_EMOTIONS) -> np.ndarray:
    """Voice probabilities (in ``labels`` order) summed onto FACE_EMOTIONS."""
    order = [SPEECH_EMOTIONS.index(lb) for lb in labels]
    full = np.zeros(len(SPEECH_EMOTIONS))
    full[order] = np.asarray(probs, np.float64)
    return full @ _MAP


def _certainty(p: np.ndarray) -> float:
    k = len(p)
    return float((p.max() - 1.0 / k) / (1.0 - 1.0 / k))


def fuse(
    face: np.ndarray, voice: np.ndarray, voice_weight: float = 0.5
) -> tuple[np.ndarray, dict[str, float]]:
    """(fused probabilities over FACE_EMOTIONS, {"face": share, "voice": share}) of a face's and a
    voice's probabilities, both already over FACE_EMOTIONS."""
    wf = (1.0 - voice_weight) * _certainty(face)
    wv = voice_weight * _certainty(voice)
    if wf + wv <= 1e-9:
        wf, wv = 1.0 - voice_weight, voice_weight
    total = wf + wv
    fused = (wf * face + wv * voice) / total
    return fused / fused.sum(), {"face": round(wf / total, 3), "voice": round(wv / total, 3)}
