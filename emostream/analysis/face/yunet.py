"""libfacedetection's YuNet (dynamic-input ONNX), run through onnxruntime.

BGR float NCHW in 0..255, anchor-free outputs per stride 8/16/32, score = sqrt(cls · obj), hard NMS,
default score threshold 0.6 (OpenCV's 0.9 drops most faces under ~20 px). The shipped default
(``models/yunet_s_dynamic.onnx``); the frame is searched at the resolution its ``min_face`` needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.pixels import as_bgr
from emostream.analysis.geometry import faces_from_rows, nms
from emostream.errors import ModelError
from emostream.runtime import create_session
from emostream.types import Face

__all__ = ["YUNET_MODEL", "YuNetDetector", "smallest_face"]

YUNET_MODEL = "yunet_s_dynamic.onnx"  # shipped in models/ (Apache-2.0, models/yunet_s_dynamic.md)
SMALLEST_FACE = 16.0  # px: faces this wide are still found (recall 0.998 of BlazeFace's at 12.8 px)


def smallest_face(min_face: float | None, height: int) -> float:
    """The smallest face (px) wanted in a frame ``height`` tall: ``min_face``, or by default 1/20 of the
    height and at least 16 px (a 1080p camera: 54 px, searched at 569×320)."""
    return float(min_face) if min_face else max(SMALLEST_FACE, height / 20.0)


class YuNetDetector:
    """libfacedetection YuNet (dynamic-input ONNX): BGR float NCHW, score = sqrt(cls · obj)."""

    name = "yunet"
    strides = (8, 16, 32)

    def __init__(
        self,
        model: str | Path | None = None,
        score_threshold: float | None = None,
        nms_iou: float = 0.3,
        threads: int = 1,
        min_face: float | None = None,
        providers: Sequence[str] = (),
    ) -> None:
        model = model or YUNET_MODEL
        self.session = create_session(model, threads, providers)
        names = {o.name for o in self.session.get_outputs()}
        need = {f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in self.strides}
        if not need <= names:
            raise ModelError(f"not a YuNet model (missing outputs {sorted(need - names)[:3]})")
        inp = self.session.get_inputs()[0]
        if any(isinstance(d, int) for d in inp.shape[2:]):  # each frame is fed at its own size
            size = "x".join(map(str, inp.shape[2:]))
            raise ModelError(f"{model}: YuNet with a fixed {size} input; use a dynamic-input export")
        self.input_name = inp.name
        self.score_threshold = 0.6 if score_threshold is None else score_threshold
        self.nms_iou = nms_iou
        self.min_face = min_face

    def detect(self, image: np.ndarray) -> list[Face]:
        img = as_bgr(image)
        if img is None:
            return []
        full_h, full_w = img.shape[:2]
        # The frame is searched at the size where the smallest wanted face is still SMALLEST_FACE
        # wide: a 1080p camera watched for faces of 54 px and up costs what a 569×320 one does.
        scale = min(1.0, SMALLEST_FACE / smallest_face(self.min_face, full_h))
        if scale < 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32  # the network needs multiples of the largest stride
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :h, :w] = img.transpose(2, 0, 1)
        names = [f"{k}_{s}" for s in self.strides for k in ("cls", "obj", "bbox", "kps")]
        outs = dict(zip(names, self.session.run(names, {self.input_name: blob}), strict=True))
        all_scores, all_rows = [], []
        for s in self.strides:
            cols = pw // s
            score = np.sqrt(
                np.clip(outs[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(outs[f"obj_{s}"][0, :, 0], 0, 1)
            )
            keep = np.nonzero(score >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            gx, gy = (keep % cols).astype(np.float32), (keep // cols).astype(np.float32)
            bb = outs[f"bbox_{s}"][0, keep]
            cx, cy = (gx + bb[:, 0]) * s, (gy + bb[:, 1]) * s
            bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
            kp = outs[f"kps_{s}"][0, keep].reshape(-1, 5, 2)
            kp = (kp + np.stack([gx, gy], 1)[:, None, :]) * s
            box = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
            all_rows.append(np.concatenate([box, kp.reshape(-1, 10)], 1))
            all_scores.append(score[keep])
        if not all_rows:
            return []
        scores, rows = np.concatenate(all_scores), np.concatenate(all_rows)
        rows /= scale  # back to the frame's own pixels (boxes and keypoints alike)
        kept = nms(rows, scores, self.nms_iou)
        return faces_from_rows([(float(scores[i]), row) for i, row in kept], full_w, full_h)
