"""libfacedetection's YuNet (dynamic-input ONNX), run through onnxruntime.

BGR float NCHW in 0..255, anchor-free outputs per stride 8/16/32, score = sqrt(cls · obj), hard NMS,
default score threshold 0.6 (OpenCV's 0.9 drops most faces under ~20 px). The shipped default
(``models/yunet_s_dynamic.onnx``) has one output head per stride (``export/yunet_heads.py``); the
original export's four heads per stride are read too.

Two ways to search a frame: :meth:`YuNetDetector.detect` runs the network over the whole frame, at
the resolution its ``min_face`` needs; :meth:`YuNetDetector.detect_near` runs it only over windows
of that same searched image around faces already known (the live tracks). The analyzer
alternates the two (``detector.scan_interval``): a track is followed at a fraction of a whole
search's cost, and the whole frame is still searched often enough to find newcomers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emostream.analysis.face.pixels import as_bgr, shrink
from emostream.analysis.geometry import faces_from_rows, nms
from emostream.errors import ModelError
from emostream.runtime import create_session
from emostream.types import Face

__all__ = ["NEAR_CONTEXT", "YUNET_MODEL", "YuNetDetector", "smallest_face"]

YUNET_MODEL = "yunet_s_dynamic.onnx"  # shipped in models/ (Apache-2.0, models/yunet_s_dynamic.md)
SMALLEST_FACE = 16.0  # px: faces this wide are still found (recall 0.998 of BlazeFace's at 12.8 px)
NEAR_CONTEXT = 1.6  # side of the window searched around a known face over the face's: room to move
GRID = 32  # the network's largest stride: inputs and windows are multiples of it
STRIDES = (8, 16, 32)
# libfacedetection's own export: four heads per stride, class and objectness as probabilities
_SPLIT = [f"{k}_{s}" for s in STRIDES for k in ("cls", "obj", "bbox", "kps")]
# the shipped file (export/yunet_heads.py): one head per stride, anchors × [cls, obj logits, 4 box, 10 kps]
_MERGED = [f"head_{s}" for s in STRIDES]


def smallest_face(min_face: float | None, height: int) -> float:
    """The smallest face (px) wanted in a frame ``height`` tall: ``min_face``, or by default 1/20 of the
    height and at least 16 px (a 1080p camera: 54 px, searched at 569×320). The emotion model reads
    small faces less well (FER+ accuracy 0.64 at 16 px, 0.83 at 24, 0.88 at 32, 0.90 at 48:
    ``export/measure_face_size.py``); ``min_face: 32`` trades them for speed."""
    return float(min_face) if min_face else max(SMALLEST_FACE, height / 20.0)


class YuNetDetector:
    """libfacedetection YuNet (dynamic-input ONNX): BGR float NCHW, score = sqrt(cls · obj)."""

    name = "yunet"
    strides = STRIDES

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
        self._outputs = _MERGED if set(_MERGED) <= names else _SPLIT
        if not set(self._outputs) <= names:
            raise ModelError(f"not a YuNet model (outputs {sorted(names)[:3]}…, not head_8… or cls_8…)")
        inp = self.session.get_inputs()[0]
        if any(isinstance(d, int) for d in inp.shape[2:]):  # each frame is fed at its own size
            size = "x".join(map(str, inp.shape[2:]))
            raise ModelError(f"{model}: YuNet with a fixed {size} input; use a dynamic-input export")
        self.input_name = inp.name
        self.score_threshold = 0.6 if score_threshold is None else score_threshold
        # σ(c)·σ(o) ≥ t² needs both logits ≥ logit(t²): merged heads are cut on that before any sigmoid
        t2 = self.score_threshold**2
        self._cut = -np.inf if t2 <= 0 else np.inf if t2 >= 1 else float(np.log(t2 / (1 - t2))) - 1e-3
        self.nms_iou = nms_iou
        self.min_face = min_face

    def _scale(self, height: int) -> float:
        # The frame is searched at the size where the smallest wanted face is still SMALLEST_FACE wide:
        # a 1080p camera watched for faces of 54 px and up costs what a 569×320 one does.
        return min(1.0, SMALLEST_FACE / smallest_face(self.min_face, height))

    def detect(self, image: np.ndarray) -> list[Face]:
        """Every face in the frame, searched at the size its smallest wanted face needs."""
        img = as_bgr(image)
        if img is None:
            return []
        full_h, full_w = img.shape[:2]
        scale = self._scale(full_h)
        h, w = _searched(full_h, full_w, scale)
        img = shrink(img, w, h)  # the frame itself when it is searched at its own size
        rows, scores = self._decode(_blob(img, _up(h), _up(w)), 0.0, 0.0, scale)
        return self._faces(rows, scores, full_w, full_h)

    def detect_near(self, image: np.ndarray, boxes: Sequence[Sequence[float]]) -> list[Face]:
        """The faces near ``boxes`` (x1, y1, x2, y2 in frame pixels), found by searching only windows
        of the image :meth:`detect` searches: around each box, NEAR_CONTEXT times its larger side,
        widened to the network's 32 px grid (overlapping windows merged). Same pixels at the same
        scale on the same grid give the boxes a whole search gives (a face's box is where the
        classifier and the face mesh crop, so it must not jump between the two kinds of search). A
        face mostly outside its window is left to its own window or to the next whole search."""
        img = as_bgr(image)
        if img is None or not boxes:
            return []
        full_h, full_w = img.shape[:2]
        scale = self._scale(full_h)
        h, w = _searched(full_h, full_w, scale)
        ph, pw = _up(h), _up(w)
        windows = _windows(boxes, scale, ph, pw)
        if not windows:  # every box outside this frame (a stream that came back at a lower resolution)
            return []
        # the windows are cut from the whole searched image: the very pixels a whole search sees.
        # Shrinking the whole frame (0.7 ms at 720p) costs no more than area-resizing only the
        # windows did: 2.0 against 2.0 ms a frame with four faces, 3.0 against 3.8 with three
        img = shrink(img, w, h)
        all_rows, all_scores = [], []
        for x0, y0, x1, y1 in windows:
            part = img[y0:y1, x0:x1]  # beyond the image: zeros, as detect pads
            rows, scores = self._decode(_blob(part, y1 - y0, x1 - x0), x0 / scale, y0 / scale, scale)
            inside = _mostly_inside(rows, (x0, y0, x1, y1), scale, ph, pw)
            all_rows.append(rows[inside])
            all_scores.append(scores[inside])
        return self._faces(np.concatenate(all_rows), np.concatenate(all_scores), full_w, full_h)

    def _decode(self, blob: np.ndarray, x0: float, y0: float, k: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows [x1 y1 x2 y2 + 5 keypoints] in frame pixels and their scores for the one image of
        ``blob``, which shows the frame from (x0, y0) at scale ``k``."""
        pw = blob.shape[3]
        x0, y0, k = np.float64(x0), np.float64(y0), np.float64(k)  # float64 arithmetic, float32 rows
        outs = self.session.run(self._outputs, {self.input_name: blob})
        all_rows, all_scores = [], []
        for i, s in enumerate(self.strides):
            anchor, prod, bb, kps = self._candidates(outs, i)
            if anchor.size == 0:
                continue
            cols = pw // s
            gx, gy = (anchor % cols).astype(np.float32), (anchor // cols).astype(np.float32)
            cx, cy = (gx + bb[:, 0]) * s, (gy + bb[:, 1]) * s
            bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
            kp = (kps.reshape(-1, 5, 2) + np.stack([gx, gy], 1)[:, None]) * s
            row = np.concatenate(
                [np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1), kp.reshape(-1, 10)], 1
            )
            row /= k  # back to the frame's own pixels (boxes and keypoints alike)
            row[:, 0::2] += x0
            row[:, 1::2] += y0
            all_rows.append(row)
            all_scores.append(np.sqrt(prod))
        if not all_rows:
            return np.zeros((0, 14)), np.zeros(0)
        return np.concatenate(all_rows), np.concatenate(all_scores)

    def _candidates(
        self, outs: list[np.ndarray], i: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(anchors whose score passes, their cls·obj, box and keypoint regressors) of stride ``i``.
        Thresholding cls·obj against t² spares a square root over every anchor of the frame."""
        t2 = self.score_threshold**2
        if self._outputs is _MERGED:
            head = outs[i][0]
            (anchor,) = np.nonzero((head[:, 0] >= self._cut) & (head[:, 1] >= self._cut))
            cand = head[anchor]
            prod = 1.0 / ((1.0 + np.exp(-cand[:, 0])) * (1.0 + np.exp(-cand[:, 1])))
            keep = prod >= t2
            return anchor[keep], prod[keep], cand[keep, 2:6], cand[keep, 6:16]
        # both end in the graph's Sigmoid, already within [0, 1] (clipping them cost 22 µs a call)
        cls, obj, bbox, kps = outs[4 * i : 4 * i + 4]
        prod = cls[0, :, 0] * obj[0, :, 0]
        (anchor,) = np.nonzero(prod >= t2)
        return anchor, prod[anchor], bbox[0, anchor], kps[0, anchor]

    def _faces(self, rows: np.ndarray, scores: np.ndarray, width: int, height: int) -> list[Face]:
        if not len(rows):
            return []
        kept = nms(rows, scores, self.nms_iou)
        return faces_from_rows([(float(scores[i]), row) for i, row in kept], width, height)


def _blob(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """The network's 1×3×``height``×``width`` float input with the BGR ``img`` at its top left and
    zeros beyond (numpy's copy: 10× faster than ``cv2.dnn.blobFromImage`` here)."""
    blob = np.zeros((1, 3, height, width), np.float32)
    blob[0, :, : img.shape[0], : img.shape[1]] = img.transpose(2, 0, 1)
    return blob


def _searched(height: int, width: int, scale: float) -> tuple[int, int]:
    """The size the frame is searched at (at least one pixel each way: a 1×1 frame stays one)."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def _up(n: int) -> int:
    """``n`` rounded up to the network's grid."""
    return -(-n // GRID) * GRID


def _windows(
    boxes: Sequence[Sequence[float]], scale: float, ph: int, pw: int
) -> list[tuple[int, int, int, int]]:
    """Grid-aligned windows (x0, y0, x1, y1) of the ``ph``×``pw`` searched image around ``boxes``
    (frame pixels), overlapping ones merged into their bounding window."""
    out: list[list[int]] = []
    for x1, y1, x2, y2 in boxes:
        half = NEAR_CONTEXT * max(x2 - x1, y2 - y1, 8.0) * scale / 2
        cx, cy = (x1 + x2) / 2 * scale, (y1 + y2) / 2 * scale
        win = [
            max(0, int((cx - half) // GRID) * GRID),
            max(0, int((cy - half) // GRID) * GRID),
            min(pw, _up(int(np.ceil(cx + half)))),
            min(ph, _up(int(np.ceil(cy + half)))),
        ]
        if win[2] <= win[0] or win[3] <= win[1]:
            continue  # a box wholly outside the frame
        out.append(win)
    merged = True
    while merged:  # few boxes per frame: the quadratic merge is cheaper than anything clever
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return [(a, b, c, d) for a, b, c, d in out]


def _mostly_inside(
    rows: np.ndarray, window: tuple[int, int, int, int], scale: float, ph: int, pw: int
) -> np.ndarray:
    """Which rows' boxes (frame pixels) lie at least 80 % inside ``window`` (searched-image pixels);
    a window edge on the image's border does not cut (a whole search sees the same face there)."""
    x0, y0, x1, y1 = (v / scale for v in window)
    lo_x, lo_y = (-np.inf if window[0] == 0 else x0), (-np.inf if window[1] == 0 else y0)
    hi_x, hi_y = (np.inf if window[2] >= pw else x1), (np.inf if window[3] >= ph else y1)
    iw = np.clip(np.minimum(rows[:, 2], hi_x) - np.maximum(rows[:, 0], lo_x), 0, None)
    ih = np.clip(np.minimum(rows[:, 3], hi_y) - np.maximum(rows[:, 1], lo_y), 0, None)
    area = np.maximum((rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1]), 1e-9)
    return iw * ih >= 0.8 * area
