"""Face detectors: the protocol and the factory of YuNet (the shipped default, :mod:`.yunet`) and
BlazeFace (:mod:`.blazeface`), both run through onnxruntime.

The ONNX graphs only hold the networks; everything around them (letterboxing, anchors, box and
keypoint decoding, non-maximum suppression) is numpy in this package, so it can be read and tested.

* ``yunet`` — libfacedetection's YuNet (``models/yunet_s_dynamic.onnx``, dynamic input, BGR float NCHW
  in 0..255), anchor-free outputs per stride 8/16/32, hard NMS, score threshold 0.6; one pass over
  the frame, scaled down when ``min_face`` allows. 1.9 ms per 480×270 frame on one core, and it finds
  every face BlazeFace finds on the shared clips (457 of 457 at IoU ≥ 0.5). It can also search only
  windows around known faces (``detect_near``), which the analyzer uses between whole searches.
* ``blazeface`` — MediaPipe's full-range BlazeFace (``models/blazeface_full.onnx``), input
  1×192×192×3 RGB in [-1, 1], 2304 anchors on a 48×48 grid, weighted NMS as MediaPipe does it, over
  square tiles overlapping by ≥ 20 % (two for 16:9); 4.6 ms per 480×270 frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from emostream.analysis.face.blazeface import BlazeFaceDetector
from emostream.analysis.face.yunet import YuNetDetector
from emostream.types import Face

__all__ = ["BlazeFaceDetector", "Detector", "YuNetDetector", "build_detector"]


class Detector(Protocol):
    """Finds faces in one BGR frame; ``name`` is the family (``blazeface``, ``yunet``). A detector that
    also has ``detect_near(image, boxes)`` is searched only around the live tracks between whole
    searches (``detector.scan_interval``); one without it searches every frame whole."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]: ...


def build_detector(
    kind: str = "yunet",
    model: str | Path | None = None,
    score_threshold: float | None = None,
    nms_iou: float = 0.3,
    threads: int = 1,
    min_face: float | None = None,
    providers: Sequence[str] = (),
) -> Detector:
    """A detector by name: ``yunet`` (shipped default) or ``blazeface``; ``model=None``: the shipped file.
    ``min_face`` (px; None: 1/20 of the frame height, ≥ 16): YuNet searches at the size that keeps it
    findable."""
    if kind == "yunet":
        return YuNetDetector(model, score_threshold, nms_iou, threads, min_face=min_face, providers=providers)
    if kind == "blazeface":
        return BlazeFaceDetector(model, score_threshold, nms_iou, threads, providers=providers)
    raise ValueError(f"unknown detector kind {kind!r} (expected 'yunet' or 'blazeface')")
