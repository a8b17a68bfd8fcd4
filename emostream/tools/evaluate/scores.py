"""Figures of a face-emotion evaluation: a confusion matrix and what follows (accuracy, per-class
precision / recall / F1, macro-F1), as text, JSON and a PNG drawn with OpenCV."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emostream.types import FACE_EMOTIONS

__all__ = ["Report", "confusion_png", "report_of"]


def report_of(truth: np.ndarray, pred: np.ndarray, extra: dict[str, object] | None = None) -> Report:
    """The report of predictions against labels (FACE_EMOTIONS indices; a prediction of -1 means no face
    was found, counted as wrong)."""
    k = len(FACE_EMOTIONS)
    found = pred >= 0
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (truth[found], pred[found]), 1)
    missed = np.bincount(truth[~found], minlength=k)
    extra = dict(extra or {})
    if (~found).any():
        extra["undetected_per_class"] = {
            label: int(n) for label, n in zip(FACE_EMOTIONS, missed, strict=True)
        }
    return Report(confusion, int((~found).sum()), extra)


@dataclass
class Report:
    """Confusion matrix (rows: truth, columns: prediction, FACE_EMOTIONS order) and what follows from it."""

    confusion: np.ndarray
    undetected: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    crowd: Report | None = None  # the same predictions against FER+'s majority (``--votes``)

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
            **({"crowd": self.crowd.as_dict()} if self.crowd is not None else {}),
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
        if self.crowd is not None:
            c = self.crowd
            lines.append("")
            lines.append(f"FER+ crowd majority ({c.extra.get('left_out', 0)} images without one left out):")
            lines.append(c.text())
        return "\n".join(lines)


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
