"""Accuracy, macro-F1 and speed of a face emotion model on FER2013 PublicTest (``shared/data/fer2013/test``).

Run with the main venv, pinned to one core for the timing::

    taskset -c 0 .venv/bin/python -m export.measure_emotion [--model fer_mini_xception.onnx]

Each 48×48 test image is one face whose box is the whole image (margin 0), scored through
:class:`emostream.analysis.face.classify.FaceEmotionClassifier` exactly as the daemon scores detected faces.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.runtime import shared_dir
from emostream.types import FACE_EMOTIONS, Face


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--split", default="test")
    ap.add_argument("--runs", type=int, default=500, help="timed batch-1 runs")
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("no shared folder (set EMOSTREAM_SHARED)")
    clf = FaceEmotionClassifier(args.model, threads=1, margin=0.0)
    truth, pred = [], []
    for k, label in enumerate(FACE_EMOTIONS):
        for path in sorted((shared / "data" / "fer2013" / args.split / label).glob("*.jpg")):
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            h, w = img.shape
            truth.append(k)
            pred.append(int(np.argmax(clf.classify(img, [Face((0, 0, w, h), 1.0)])[0].probs)))
    t, p = np.array(truth), np.array(pred)
    f1s = []
    for k, label in enumerate(FACE_EMOTIONS):
        tp = int(((p == k) & (t == k)).sum())
        prec, rec = tp / max(int((p == k).sum()), 1), tp / max(int((t == k).sum()), 1)
        f1s.append(2 * prec * rec / max(prec + rec, 1e-12))
        print(f"{label:9s} n={int((t == k).sum()):4d} precision={prec:.3f} recall={rec:.3f} f1={f1s[-1]:.3f}")
    print(
        f"{args.split}: n={len(t)} accuracy={float((t == p).mean()):.4f} macro-F1={float(np.mean(f1s)):.4f}"
    )
    x = np.zeros((1, clf.size, clf.size, 1), np.float32)
    clf.predict(x)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        clf.predict(x)
        times.append((time.perf_counter() - start) * 1000)
    print(f"median ms per face (batch 1, session.run): {statistics.median(times):.3f}")
    x8 = np.zeros((8, clf.size, clf.size, 1), np.float32)
    clf.predict(x8)
    times8 = []
    for _ in range(max(1, args.runs // 4)):
        start = time.perf_counter()
        clf.predict(x8)
        times8.append(time.perf_counter() - start)
    med = statistics.median(times8)
    print(f"batch 8: median {1000 * med:.3f} ms per call, {8 / med:.0f} faces/s")


if __name__ == "__main__":
    main()
