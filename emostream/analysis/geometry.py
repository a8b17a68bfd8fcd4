"""Box geometry shared by detection, tracking and evaluation: IoU and non-maximum suppression.

Boxes are ``x1, y1, x2, y2`` in pixels. :func:`iou` compares two boxes; :func:`iou_many` one box with
an array of them (the NMS inner loop, vectorised).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emostream.types import Face

__all__ = ["faces_from_rows", "iou", "iou_many", "nms"]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes; 0 when either has no area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def iou_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of ``box`` with every row of ``boxes`` (N×4 or wider: extra columns are ignored)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(
    boxes: np.ndarray, scores: np.ndarray, threshold: float, weighted: bool = False
) -> list[tuple[int, np.ndarray]]:
    """Greedy NMS over ``boxes``; returns (index of the kept best, merged row) pairs, best first.

    ``weighted`` averages each cluster's rows (``boxes`` may carry extra columns such as keypoints)
    with the scores as weights, as MediaPipe's WEIGHTED overlap suppression does.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[int, np.ndarray]] = []
    while order.size:
        best = order[0]
        inside = iou_many(boxes[best], boxes[order]) > threshold
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


def faces_from_rows(rows: list[tuple[float, np.ndarray]], width: int, height: int) -> list[Face]:
    """Face objects from (score, [x1 y1 x2 y2 kx ky ...]) rows, clipped to the frame, best first."""
    faces = []
    for score, arr in rows:
        row = arr.tolist()  # plain floats: numpy's scalar calls cost more than the arithmetic here
        x1, x2 = (min(max(v, 0.0), float(width)) for v in (row[0], row[2]))
        y1, y2 = (min(max(v, 0.0), float(height)) for v in (row[1], row[3]))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        kps = tuple((row[i], row[i + 1]) for i in range(4, len(row) - 1, 2))
        faces.append(Face(box=(x1, y1, x2, y2), score=float(score), landmarks=kps))
    faces.sort(key=lambda f: -f.score)
    return faces
