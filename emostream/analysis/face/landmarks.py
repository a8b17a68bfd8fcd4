"""Mouth opening per face: MediaPipe's 468-point face mesh, run only where a voice must be attributed.

The landmark network (``models/face_landmark.onnx``, converted from the ``mediapipe==0.10.14`` wheel by
``export/face_landmarks.py``) takes a 192×192 crop as OpenCV gives it, BGR in 0..255 (the export
folded MediaPipe's RGB order and 1/255 scaling into the first convolution). The crop is a square around the
detector's box, 1.5× its larger side (MediaPipe's own ROI scale, so the chin and lips are inside it
however the detector draws its box), not rotated: cameras at a counter see upright heads.

:func:`mouth_opening` turns the mesh into one number per face: the gap between the inner lips
(points 13 and 14) over the mouth's width (corners 61 and 291). Dividing by the width makes it
independent of the face's size and distance; it is about 0 for closed lips and 0.3–0.6 wide open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emostream.errors import ModelError
from emostream.runtime import create_session, models_dir, warm_up

__all__ = ["LANDMARK_MODEL", "FaceLandmarker", "crop_for_landmarks", "mouth_opening"]

LANDMARK_MODEL = "face_landmark.onnx"
SIZE = 192
ROI_SCALE = 1.5
UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT = 13, 14, 61, 291


def crop_for_landmarks(
    image: np.ndarray, box: Sequence[float]
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(3×192×192 BGR float32 crop in 0..255, (x0, y0, scale)) of the BGR ``image`` around ``box``
    (x1, y1, x2, y2); crop pixel (u, v), i.e. ``crop[:, v, u]``, is frame pixel (x0 + u·scale,
    y0 + v·scale). Parts of the square outside the frame are black, as MediaPipe pads them."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = ROI_SCALE * max(x2 - x1, y2 - y1, 1.0)
    x0, y0 = (x1 + x2) / 2 - side / 2, (y1 + y2) / 2 - side / 2
    scale = side / SIZE
    # one affine warp: crop, pad and resize in a single pass (no intermediate copy of the square)
    m = np.array([[1 / scale, 0, -x0 / scale], [0, 1 / scale, -y0 / scale]], np.float32)
    crop = cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return crop.transpose(2, 0, 1).astype(np.float32), (x0, y0, scale)


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap over mouth width of one (468, ≥2) landmark array (any consistent unit)."""
    (ux, uy), (lx, ly), (ax, ay), (bx, by) = points[
        [UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT], :2
    ].tolist()
    width = math.hypot(ax - bx, ay - by)
    return math.hypot(ux - lx, uy - ly) / width if width > 1e-6 else 0.0


class FaceLandmarker:
    """The face mesh on detected faces: landmarks in frame pixels, and the mouth opening."""

    def __init__(
        self, model: str | Path | None = None, threads: int = 1, providers: Sequence[str] = ()
    ) -> None:
        self.session = create_session(model or models_dir() / LANDMARK_MODEL, threads, providers)
        inp = self.session.get_inputs()[0]
        if list(inp.shape) != [1, 3, SIZE, SIZE]:
            raise ModelError(f"face landmark model: input {inp.shape}, expected [1, 3, {SIZE}, {SIZE}] BGR")
        self.input_name = inp.name
        warm_up(self.session, (1, 3, SIZE, SIZE))

    def _run(
        self, image: np.ndarray, box: Sequence[float]
    ) -> tuple[np.ndarray, float, tuple[float, float, float]]:
        """((468, 3) landmarks in crop pixels, face presence probability, the crop's (x0, y0, scale))."""
        crop, where = crop_for_landmarks(image, box)
        raw, logit = self.session.run(["landmarks", "face_logit"], {self.input_name: crop[None]})
        presence = float(1.0 / (1.0 + np.exp(-np.clip(float(logit.reshape(-1)[0]), -50, 50))))
        return raw.reshape(-1, 3), presence, where

    def landmarks(self, image: np.ndarray, box: Sequence[float]) -> tuple[np.ndarray, float]:
        """((468, 3) landmarks in frame pixels, face presence probability) of the face in ``box``."""
        raw, presence, (x0, y0, scale) = self._run(image, box)
        pts = raw.astype(np.float64)
        pts[:, 0] = x0 + pts[:, 0] * scale
        pts[:, 1] = y0 + pts[:, 1] * scale
        pts[:, 2] *= scale
        return pts, presence

    def mouth(self, image: np.ndarray, box: Sequence[float]) -> tuple[float, float]:
        """(mouth opening, face presence probability) of the face in ``box``."""
        # a ratio of two distances: the crop is scaled alike both ways, so its own pixels give the
        # frame's ratio without mapping all 468 points back (0.04 ms of the 1.6 a face costs)
        raw, presence, _where = self._run(image, box)
        return mouth_opening(raw), presence
