"""Facial emotion classification of detected faces with an ONNX model (default: emostream's own CNN).

:func:`prepare_face_crops` is the one crop function every face model uses: a square crop around the
detector box widened by ``margin`` on each side, grayscale, resized to the model's input and
normalised as ``x * scale + offset``. The input size is read from the session and the rest from the
model's ONNX metadata (``labels``, ``norm_scale``, ``norm_offset``, ``crop_margin``), so a new model
only has to carry its own metadata to be used by the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from emostream.analysis.face.pixels import to_uint8
from emostream.errors import ModelError
from emostream.runtime import create_session
from emostream.types import FACE_EMOTIONS, Face, Scores

DEFAULT_MODEL = "emostream_face_ferplus.int8.onnx"  # trained on FER+ votes (models/emostream_face_ferplus.md)
DEFAULT_SCALE = 2.0 / 255.0  # fer's preprocessing: (x / 255 - 0.5) * 2
DEFAULT_OFFSET = -1.0
DEFAULT_MARGIN = 0.1


def _gray(image: np.ndarray) -> np.ndarray:
    img = to_uint8(np.asarray(image))
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"not an image: shape {img.shape}")


def crop_square(gray: np.ndarray, box: Sequence[float], margin: float) -> np.ndarray:
    """The square around ``box`` (x1, y1, x2, y2) widened by ``margin`` × its side on each side.

    The side is the longer edge of the box (as fer's ``tosquare``); parts outside the image are
    filled by repeating the border pixels.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = round(cx - side / 2.0), round(cy - side / 2.0)
    n = max(1, round(side))
    h, w = gray.shape
    if left >= 0 and top >= 0 and left + n <= w and top + n <= h:
        return gray[top : top + n, left : left + n]
    ys = np.clip(np.arange(top, top + n), 0, h - 1)
    xs = np.clip(np.arange(left, left + n), 0, w - 1)
    crop = gray[np.ix_(ys, xs)]
    return crop


def prepare_face_crops(
    image: np.ndarray,
    faces: Sequence[Face],
    size: int,
    margin: float,
    scale: float = DEFAULT_SCALE,
    offset: float = DEFAULT_OFFSET,
) -> np.ndarray:
    """(N, size, size, 1) float32 model input for the ``faces`` of one frame (H×W, H×W×1/3/4 uint8)."""
    out = np.empty((len(faces), size, size, 1), np.float32)
    if not faces:
        return out
    gray = _gray(image)
    if gray.size == 0:
        raise ValueError("empty image")
    for i, face in enumerate(faces):
        crop = crop_square(gray, face.box, margin)
        interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (size, size), interpolation=interp)
        out[i, :, :, 0] = resized.astype(np.float32) * scale + offset
    return out


class EmotionClassifier(Protocol):
    """What a camera's analysis needs of a face classifier: this module's, or a batching one shared by
    cameras (:mod:`emostream.analysis.face.batch`)."""

    labels: tuple[str, ...]

    def classify(self, image: np.ndarray, faces: Sequence[Face]) -> list[Scores]: ...


class FaceEmotionClassifier:
    """Scores every face of a frame with one batched ``session.run``; probabilities in FACE_EMOTIONS order."""

    labels: tuple[str, ...] = FACE_EMOTIONS

    def __init__(
        self,
        model: str | Path | None = None,
        threads: int = 1,
        margin: float | None = None,
        providers: Sequence[str] = (),
    ) -> None:
        self.session = create_session(model or DEFAULT_MODEL, threads, providers)
        inp = self.session.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4 or shape[3] != 1 or not isinstance(shape[1], int) or shape[1] != shape[2]:
            raise ModelError(f"not a face emotion model (input shape {shape}, expected N×S×S×1)")
        self.input_name = inp.name
        self.size = int(shape[1])
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.scale = float(meta.get("norm_scale", DEFAULT_SCALE))
            self.offset = float(meta.get("norm_offset", DEFAULT_OFFSET))
            default_margin = float(meta.get("crop_margin", DEFAULT_MARGIN))
        except ValueError:
            raise ModelError("bad normalisation metadata in the face emotion model") from None
        self.margin = default_margin if margin is None else margin
        model_labels = tuple(meta.get("labels", ",".join(FACE_EMOTIONS)).split(","))
        if sorted(model_labels) != sorted(FACE_EMOTIONS):
            raise ModelError(f"face emotion model labels {model_labels} are not {FACE_EMOTIONS}")
        # column of the model output for each of our labels
        self._order = [model_labels.index(label) for label in FACE_EMOTIONS]
        out = self.session.get_outputs()[0].shape
        if len(out) != 2 or out[1] != len(FACE_EMOTIONS):
            raise ModelError(f"face emotion model output shape {out} is not N×{len(FACE_EMOTIONS)}")

    def prepare(self, image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        return prepare_face_crops(image, faces, self.size, self.margin, self.scale, self.offset)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N×7, FACE_EMOTIONS order) for prepared crops."""
        if len(batch) == 0:
            return np.zeros((0, len(FACE_EMOTIONS)), np.float32)
        probs = self.session.run(None, {self.input_name: batch})[0][:, self._order]
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)

    def classify(self, image: np.ndarray, faces: Sequence[Face]) -> list[Scores]:
        if not faces:
            return []
        probs = self.predict(self.prepare(image, faces))
        return [Scores(labels=self.labels, probs=tuple(float(p) for p in row)) for row in probs]
