"""Accuracy of the face-emotion model on a labelled folder (``DIR/<emotion>/*.jpg``), e.g. FER2013 PublicTest.

Two ways to score an image:

* ``whole`` (default): the image is one face whose box is the whole image, margin 0 — the framing of
  FER2013's 48×48 crops, i.e. what the model was trained on.
* ``detect``: the daemon's own path. The image is scaled by ``face_scale`` and pasted in the middle
  of a mid-grey ``frame`` (480×270 by default), the detector finds faces in that frame, and the face
  whose box overlaps the pasted image most is cropped by :func:`emostream.classify.prepare_face_crops`
  with the model's own margin and classified. An image with no detection counts as wrong; the
  detection rate is reported beside the accuracy.

Folders are matched to labels by name (case-insensitive), whatever their order; folders that are not
emotion names are ignored and listed in the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .classify import FaceEmotionClassifier, prepare_face_crops
from .detect import Detector
from .types import FACE_EMOTIONS, Face

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def labelled_images(root: Path, limit: int = 0) -> tuple[list[Path], list[int], list[str]]:
    """(paths, label indices in FACE_EMOTIONS, ignored folder names) under ``root/<emotion>/``."""
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    paths: list[Path] = []
    labels: list[int] = []
    ignored: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        name = folder.name.lower()
        if name not in FACE_EMOTIONS:
            ignored.append(folder.name)
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for p in files[: limit or None]:
            paths.append(p)
            labels.append(FACE_EMOTIONS.index(name))
    if not paths:
        raise FileNotFoundError(f"no images in {root}/<emotion>/ (emotions: {', '.join(FACE_EMOTIONS)})")
    return paths, labels, ignored


@dataclass
class Report:
    """Confusion matrix (rows: truth, columns: prediction, FACE_EMOTIONS order) and what follows from it."""

    confusion: np.ndarray
    undetected: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.confusion.sum()) + self.undetected

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion)) / max(self.n, 1)

    @property
    def accuracy_detected(self) -> float:
        """Accuracy over the images where a face was found (``detect`` mode; = accuracy otherwise)."""
        return float(np.trace(self.confusion)) / max(int(self.confusion.sum()), 1)

    def _undetected_counts(self) -> np.ndarray:
        per = self.extra.get("undetected_per_class", {})
        return np.array([int(per.get(label, 0)) for label in FACE_EMOTIONS])  # type: ignore[union-attr]

    def per_class(self) -> dict[str, dict[str, float]]:
        cm = self.confusion
        out: dict[str, dict[str, float]] = {}
        for k, label in enumerate(FACE_EMOTIONS):
            tp = float(cm[k, k])
            support = float(cm[k].sum()) + float(self.extra.get("undetected_per_class", {}).get(label, 0))
            predicted = float(cm[:, k].sum())
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(support)}
        return out

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes that occur in the truth or the predictions (as scikit-learn does)."""
        occurs = self.confusion.sum(axis=1) + self.confusion.sum(axis=0) + self._undetected_counts() > 0
        rows = [v for k, v in enumerate(self.per_class().values()) if occurs[k]]
        return float(np.mean([r["f1"] for r in rows])) if rows else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {k: {m: round(x, 4) for m, x in v.items()} for k, v in self.per_class().items()},
            "labels": list(FACE_EMOTIONS),
            "confusion": self.confusion.tolist(),
            "undetected": self.undetected,
            "accuracy_detected": round(self.accuracy_detected, 4),
            **self.extra,
        }

    def text(self) -> str:
        lines = [f"n={self.n} accuracy={self.accuracy:.4f} macro-F1={self.macro_f1:.4f}"]
        if self.undetected:
            lines.append(
                f"no face detected in {self.undetected} images (counted as wrong); "
                f"accuracy on the {int(self.confusion.sum())} detected: {self.accuracy_detected:.4f}"
            )
        lines.append(f"{'':10s}{'precision':>10s}{'recall':>8s}{'f1':>7s}{'n':>6s}")
        for label, m in self.per_class().items():
            lines.append(
                f"{label:10s}{m['precision']:10.3f}{m['recall']:8.3f}{m['f1']:7.3f}{m['support']:6d}"
            )
        lines.append("confusion (rows: truth, columns: prediction)")
        lines.append(" " * 10 + "".join(f"{label[:7]:>8s}" for label in FACE_EMOTIONS))
        for label, row in zip(FACE_EMOTIONS, self.confusion, strict=True):
            lines.append(f"{label:10s}" + "".join(f"{int(v):8d}" for v in row))
        return "\n".join(lines)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def paste_in_frame(image: np.ndarray, frame: tuple[int, int], face_scale: float) -> tuple[np.ndarray, Face]:
    """``image`` scaled by ``face_scale`` in the middle of a mid-grey BGR frame (w, h); the pasted box."""
    h0, w0 = image.shape[:2]
    w1, h1 = max(1, round(w0 * face_scale)), max(1, round(h0 * face_scale))
    fw, fh = frame
    if w1 > fw or h1 > fh:
        raise ValueError(f"a {w1}×{h1} face does not fit a {fw}×{fh} frame")
    face = cv2.resize(image, (w1, h1), interpolation=cv2.INTER_LINEAR if face_scale > 1 else cv2.INTER_AREA)
    if face.ndim == 2:
        face = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
    canvas = np.full((fh, fw, 3), 128, np.uint8)
    x0, y0 = (fw - w1) // 2, (fh - h1) // 2
    canvas[y0 : y0 + h1, x0 : x0 + w1] = face
    return canvas, Face((float(x0), float(y0), float(x0 + w1), float(y0 + h1)), 1.0)


def evaluate(
    root: Path,
    classifier: FaceEmotionClassifier | None = None,
    mode: str = "whole",
    detector: Detector | None = None,
    frame: tuple[int, int] = (480, 270),
    face_scale: float = 2.0,
    limit: int = 0,
    batch: int = 128,
) -> Report:
    """Score every image under ``root/<emotion>/`` (see the module docstring for ``mode``)."""
    if mode not in ("whole", "detect"):
        raise ValueError(f"mode must be 'whole' or 'detect', not {mode!r}")
    clf = classifier or FaceEmotionClassifier()
    if mode == "detect" and detector is None:
        from .detect import build_detector

        detector = build_detector()
    paths, labels, ignored = labelled_images(root, limit)
    confusion = np.zeros((len(FACE_EMOTIONS), len(FACE_EMOTIONS)), np.int64)
    undetected = {label: 0 for label in FACE_EMOTIONS}
    crops: list[np.ndarray] = []
    truth: list[int] = []

    def flush() -> None:
        if crops:
            pred = clf.predict(np.stack(crops)).argmax(axis=1)
            np.add.at(confusion, (np.asarray(truth), pred), 1)
            crops.clear()
            truth.clear()

    for path, k in zip(paths, labels, strict=True):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {path}")
        if mode == "whole":
            h, w = image.shape[:2]
            crop = prepare_whole(clf, image, w, h)
        else:
            canvas, pasted = paste_in_frame(image, frame, face_scale)
            assert detector is not None
            faces = detector.detect(canvas)
            best = max(faces, key=lambda f: _iou(f.box, pasted.box), default=None)
            if best is None or _iou(best.box, pasted.box) <= 0.0:
                undetected[FACE_EMOTIONS[k]] += 1
                continue
            crop = clf.prepare(canvas, [best])[0]
        crops.append(crop)
        truth.append(k)
        if len(crops) >= batch:
            flush()
    flush()
    extra: dict[str, object] = {"mode": mode, "root": str(root)}
    if ignored:
        extra["ignored_folders"] = ignored
    if mode == "detect":
        extra.update(
            frame=list(frame), face_scale=face_scale, margin=clf.margin, undetected_per_class=undetected
        )
    return Report(confusion, sum(undetected.values()), extra)


def prepare_whole(clf: FaceEmotionClassifier, image: np.ndarray, w: int, h: int) -> np.ndarray:
    """The model input for an image that is one face: box = the whole image, margin 0."""
    return prepare_face_crops(
        image, [Face((0.0, 0.0, float(w), float(h)), 1.0)], clf.size, 0.0, clf.scale, clf.offset
    )[0]


def confusion_png(report: Report, path: Path, cell: int = 72) -> None:
    """Draw the row-normalised confusion matrix (counts and row shares in each cell) as a PNG with OpenCV."""
    cm = report.confusion
    n = len(FACE_EMOTIONS)
    left, top = 110, 90
    img = np.full((top + n * cell + 40, left + n * cell + 20, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    title = f"accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}  n={report.n}"
    cv2.putText(img, title, (10, 25), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "prediction ->", (left, 50), font, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
    rows = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    for i in range(n):
        cv2.putText(
            img, FACE_EMOTIONS[i], (8, top + i * cell + cell // 2 + 5), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA
        )
        cv2.putText(
            img, FACE_EMOTIONS[i][:7], (left + i * cell + 4, top - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA
        )
        for j in range(n):
            share = float(cm[i, j] / rows[i, 0])
            shade = int(255 - 200 * share)
            x, y = left + j * cell, top + i * cell
            cv2.rectangle(img, (x, y), (x + cell, y + cell), (255, shade, shade), -1)
            cv2.rectangle(img, (x, y), (x + cell, y + cell), (160, 160, 160), 1)
            color = (255, 255, 255) if share > 0.5 else (0, 0, 0)
            cv2.putText(img, str(int(cm[i, j])), (x + 6, y + cell // 2 - 2), font, 0.5, color, 1, cv2.LINE_AA)
            cv2.putText(img, f"{share:.2f}", (x + 6, y + cell // 2 + 18), font, 0.4, color, 1, cv2.LINE_AA)
    cv2.putText(img, "rows: truth", (8, top + n * cell + 25), font, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
