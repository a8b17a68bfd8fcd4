"""MediaPipe's BlazeFace (short or full range) over square tiles of the frame.

The shipped default detector (``models/blazeface_full.onnx``): input 1×192×192×3 RGB in [-1, 1], 2304
anchors on a 48×48 grid, weighted NMS as MediaPipe does it. A wide frame is cut into square tiles
overlapping by ≥ 20 % (two for 16:9) so that small faces stay large enough for the network; the
detections of all tiles go through one weighted NMS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.pixels import as_bgr
from emostream.analysis.geometry import faces_from_rows, nms
from emostream.errors import ModelError
from emostream.runtime import create_session
from emostream.types import Face

__all__ = ["BLAZEFACE_MODEL", "BlazeFaceDetector", "blazeface_anchors", "square_tiles"]

BLAZEFACE_MODEL = "blazeface_full.onnx"


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
        providers: Sequence[str] = (),
    ) -> None:
        self.session = create_session(model or BLAZEFACE_MODEL, threads, providers)
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
        return faces_from_rows([(float(scores[i]), row) for i, row in kept], w, h)
