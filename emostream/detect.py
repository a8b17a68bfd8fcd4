"""Face detectors: BlazeFace (the shipped default) and YuNet, both run through onnxruntime.

The ONNX graphs only hold the networks; everything around them (letterboxing, anchors, box and
keypoint decoding, non-maximum suppression) lives here, in numpy, so it can be read and tested.

* ``blazeface`` — MediaPipe's full-range BlazeFace (``models/blazeface_full.onnx``), input
  1×192×192×3 RGB in [-1, 1], 2304 anchors on a 48×48 grid, weighted NMS as MediaPipe does it.
  A wide frame is cut into square tiles overlapping by ≥ 20 % (two for 16:9) so that small faces
  stay large enough for the network; the detections of all tiles go through one weighted NMS.
* ``yunet`` — libfacedetection's YuNet (dynamic input, BGR float NCHW in 0..255; not shipped: give
  ``model=``, else the copy in the shared folder is used), anchor-free outputs per stride 8/16/32,
  hard NMS, default score threshold 0.6 (OpenCV's 0.9 drops most faces under ~20 px).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .pixels import as_bgr
from .runtime import ModelError, create_session, shared_dir
from .types import Face

BLAZEFACE_MODEL = "blazeface_full.onnx"
YUNET_MODEL = "models/yunet/yunet_s_dynamic.onnx"  # relative to the shared folder


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Face]: ...


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou: float, weighted: bool = False
) -> list[tuple[int, np.ndarray]]:
    """Greedy NMS over x1,y1,x2,y2 ``boxes``; returns (index of the kept best, merged row) pairs.

    ``weighted`` averages each cluster's rows (``boxes`` may carry extra columns such as keypoints)
    with the scores as weights, as MediaPipe's WEIGHTED overlap suppression does.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[int, np.ndarray]] = []
    while order.size:
        best = order[0]
        inside = _iou_one(boxes[best], boxes[order]) > iou
        inside[0] = True
        cluster = order[inside]
        if weighted:
            w = scores[cluster][:, None]
            merged = (boxes[cluster] * w).sum(axis=0) / max(float(w.sum()), 1e-9)
        else:
            merged = boxes[best]
        out.append((int(best), merged))
        order = order[~inside]
    return out


def _faces(rows: list[tuple[float, np.ndarray]], width: int, height: int) -> list[Face]:
    """Face objects from (score, [x1 y1 x2 y2 kx ky ...]) rows, clipped to the frame, best first."""
    faces = []
    for score, row in rows:
        x1, x2 = (float(np.clip(v, 0, width)) for v in (row[0], row[2]))
        y1, y2 = (float(np.clip(v, 0, height)) for v in (row[1], row[3]))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        kps = tuple((float(row[i]), float(row[i + 1])) for i in range(4, len(row) - 1, 2))
        faces.append(Face(box=(x1, y1, x2, y2), score=float(score), landmarks=kps))
    faces.sort(key=lambda f: -f.score)
    return faces


def blazeface_anchors(size: int, count: int) -> np.ndarray:
    """Anchor centres (count×2, normalised) of MediaPipe's SSD anchors for a BlazeFace input ``size``.

    Short range (128 px, 896 anchors): strides 8, 16, 16, 16 with 2 anchors per layer and cell;
    full range (192 px, 2304 anchors): one stride-4 layer with 1 anchor per cell.
    """
    if count == 896:
        layout = [(8, 2), (16, 6)]
    elif count == (size // 4) ** 2:
        layout = [(4, 1)]
    else:
        raise ModelError(f"unknown BlazeFace anchor layout: {count} anchors for a {size}px input")
    centres = []
    for stride, per_cell in layout:
        n = math.ceil(size / stride)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def square_tiles(
    width: int, height: int, min_overlap: float = 0.2, max_tiles: int = 4
) -> list[tuple[int, int, int]]:
    """Square tiles (x, y, side) covering a frame: side = the short edge, evenly spread along the long
    edge, as few as give neighbours at least ``min_overlap`` × side in common (2 for 16:9).

    A frame within 1.25:1 of square, or one that would need more than ``max_tiles``, is one tile
    (side = the long edge), letterboxed as a whole.
    """
    side = min(width, height)
    long_edge = max(width, height)
    n = max(1, math.ceil(long_edge / side))
    while n > 1 and (n * side - long_edge) / (n - 1) < min_overlap * side:
        n += 1
    if long_edge <= 1.25 * side or n > max_tiles:
        return [(0, 0, long_edge)]
    starts = [round(i * (long_edge - side) / (n - 1)) for i in range(n)] if n > 1 else [0]
    if width >= height:
        return [(s, 0, side) for s in starts]
    return [(0, s, side) for s in starts]


class BlazeFaceDetector:
    """MediaPipe BlazeFace (short or full range, picked from the model's shapes) over square tiles."""

    name = "blazeface"

    def __init__(
        self,
        model: str | Path | None = None,
        score_threshold: float | None = None,
        nms_iou: float = 0.3,
        threads: int = 1,
        tiles: bool = True,
        tile_overlap: float = 0.2,
    ) -> None:
        self.session = create_session(model or BLAZEFACE_MODEL, threads)
        inp = self.session.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]:
            raise ModelError(f"not a BlazeFace model (input shape {shape})")
        self.input_name = inp.name
        self.size = int(shape[1])
        outs = {tuple(o.shape[1:]): o.name for o in self.session.get_outputs()}
        try:
            self.reg_name = next(n for s, n in outs.items() if s[-1] == 16)
            self.cls_name = next(n for s, n in outs.items() if s[-1] == 1)
            count = next(s[0] for s in outs if s[-1] == 16)
        except StopIteration:
            raise ModelError(
                "not a BlazeFace model (expected 16-value regressors and 1-value scores)"
            ) from None
        self.anchors = blazeface_anchors(self.size, int(count))
        # MediaPipe's thresholds: 0.5 for short range, 0.6 for full range
        self.score_threshold = (
            score_threshold if score_threshold is not None else (0.5 if count == 896 else 0.6)
        )
        self.nms_iou = nms_iou
        self.tiles = tiles
        self.tile_overlap = tile_overlap

    def prepare_tile(
        self, img: np.ndarray, x0: int, y0: int, side: int
    ) -> tuple[np.ndarray, int, int, float]:
        """Network input for one square tile: letterboxed, RGB, [-1, 1]; plus the pad and scale used."""
        crop = img[y0 : y0 + side, x0 : x0 + side]
        h, w = crop.shape[:2]
        scale = self.size / max(h, w)
        rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (rw, rh), interpolation=interp)
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        px, py = (self.size - rw) // 2, (self.size - rh) // 2
        canvas[py : py + rh, px : px + rw] = resized
        x = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) * (2.0 / 255.0) - 1.0
        return x[None], px, py, scale

    def _run_tile(self, img: np.ndarray, x0: int, y0: int, side: int) -> list[tuple[float, np.ndarray]]:
        x, px, py, scale = self.prepare_tile(img, x0, y0, side)
        reg, cls = self.session.run([self.reg_name, self.cls_name], {self.input_name: x})
        logits = np.clip(cls[0, :, 0], -100.0, 100.0)
        thr = min(max(self.score_threshold, 1e-6), 1 - 1e-6)
        keep = np.nonzero(logits > math.log(thr / (1 - thr)))[0]
        if keep.size == 0:
            return []
        scores = 1.0 / (1.0 + np.exp(-logits[keep]))
        r = reg[0, keep] / self.size  # offsets in input pixels → normalised units
        pts = r.reshape(-1, 8, 2).copy()
        pts[:, 2:] += self.anchors[keep][:, None, :]  # keypoints are anchor-relative
        pts[:, 0] += self.anchors[keep]  # box centre
        cx, cy, bw, bh = pts[:, 0, 0], pts[:, 0, 1], pts[:, 1, 0], pts[:, 1, 1]
        rows = np.concatenate(
            [np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1), pts[:, 2:].reshape(-1, 12)],
            axis=1,
        )
        # normalised input coordinates → frame pixels
        rows[:, 0::2] = (rows[:, 0::2] * self.size - px) / scale + x0
        rows[:, 1::2] = (rows[:, 1::2] * self.size - py) / scale + y0
        return list(zip(scores.tolist(), rows, strict=True))

    def detect(self, image: np.ndarray) -> list[Face]:
        img = as_bgr(image)
        if img is None:
            return []
        h, w = img.shape[:2]
        tiles = square_tiles(w, h, self.tile_overlap) if self.tiles else [(0, 0, max(w, h))]
        cands = [c for t in tiles for c in self._run_tile(img, *t)]
        if not cands:
            return []
        scores = np.array([c[0] for c in cands], np.float32)
        rows = np.stack([c[1] for c in cands]).astype(np.float32)
        kept = nms(rows, scores, self.nms_iou, weighted=True)
        return _faces([(float(scores[i]), row) for i, row in kept], w, h)


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
    ) -> None:
        if model is None:
            shared = shared_dir()
            if shared is None:
                raise ModelError("no YuNet model given and no shared folder to take it from")
            model = shared / YUNET_MODEL
        self.session = create_session(model, threads)
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

    def detect(self, image: np.ndarray) -> list[Face]:
        img = as_bgr(image)
        if img is None:
            return []
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
        kept = nms(rows, scores, self.nms_iou)
        return _faces([(float(scores[i]), row) for i, row in kept], w, h)


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
