"""Face detectors: the protocol, the factory and the box decoding shared by BlazeFace (the shipped
default, :mod:`.blazeface`) and YuNet (:mod:`.yunet`), both run through onnxruntime.

The ONNX graphs only hold the networks; everything around them (letterboxing, anchors, box and
keypoint decoding, non-maximum suppression) is numpy in this package, so it can be read and tested.

* ``blazeface`` — MediaPipe's full-range BlazeFace (``models/blazeface_full.onnx``), input
  1×192×192×3 RGB in [-1, 1], 2304 anchors on a 48×48 grid, weighted NMS as MediaPipe does it.
  A wide frame is cut into square tiles overlapping by ≥ 20 % (two for 16:9) so that small faces
  stay large enough for the network; the detections of all tiles go through one weighted NMS.
* ``yunet`` — libfacedetection's YuNet (dynamic input, BGR float NCHW in 0..255; not shipped: give
  ``model=``, else the copy in the shared folder is used), anchor-free outputs per stride 8/16/32,
  hard NMS, default score threshold 0.6 (OpenCV's 0.9 drops most faces under ~20 px).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from emostream.analysis.face.blazeface import BlazeFaceDetector
from emostream.analysis.face.yunet import YuNetDetector
from emostream.types import Face

__all__ = ["BlazeFaceDetector", "Detector", "YuNetDetector", "build_detector"]


class Detector(Protocol):
    """Finds faces in one BGR frame; ``name`` is the family (``blazeface``, ``yunet``)."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]: ...


def build_detector(
    kind: str = "blazeface",
    model: str | Path | None = None,
    score_threshold: float | None = None,
    nms_iou: float = 0.3,
    threads: int = 1,
) -> Detector:
    """A detector by name: ``blazeface`` (shipped default) or ``yunet``; ``model=None``: the default file."""
    if kind == "blazeface":
        return BlazeFaceDetector(model, score_threshold, nms_iou, threads)
    if kind == "yunet":
        return YuNetDetector(model, score_threshold, nms_iou, threads)
    raise ValueError(f"unknown detector kind {kind!r} (expected 'blazeface' or 'yunet')")
