"""Accuracy of the face-emotion model on a labelled folder (``DIR/<emotion>/*.jpg``), e.g. FER2013 PublicTest.

Two ways to score an image:

* ``whole`` (default): the image is one face whose box is the whole image, margin 0 — the framing of
  FER2013's 48×48 crops, i.e. what the model was trained on.
* ``detect``: the daemon's own path. The image is scaled by ``face_scale`` and pasted in the middle
  of a mid-grey ``frame`` (480×270 by default), the detector finds faces in that frame, and the face
  whose box overlaps the pasted image most is cropped by
  :func:`~emostream.analysis.face.classify.prepare_face_crops` with the model's own margin and
  classified. An image with no detection counts as wrong; the detection rate is reported beside the
  accuracy.

With ``votes`` (FER+'s crowd-vote CSV, ``ferplus_votes.csv``) the same predictions are also scored
against the crowd's majority label (:func:`emostream.tools.evaluate.crowd.majority`), on the images
that have one; how many the rule leaves out is reported.

Folders are matched to labels by name (case-insensitive), whatever their order; folders that are not
emotion names are ignored and listed in the result.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.classify import FaceEmotionClassifier, prepare_face_crops
from emostream.analysis.face.detect import Detector, build_detector
from emostream.analysis.geometry import iou
from emostream.tools.evaluate.corpus import labelled_images
from emostream.tools.evaluate.crowd import majority, read_votes
from emostream.tools.evaluate.scores import Report, confusion_png, report_of
from emostream.types import FACE_EMOTIONS, Face

__all__ = ["Report", "confusion_png", "crowd_report", "evaluate", "labelled_images", "paste_in_frame"]


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
    votes: Path | None = None,
) -> Report:
    """Score every image under ``root/<emotion>/`` (see the module docstring for ``mode``); with
    ``votes`` (FER+'s CSV) also against the crowd's majority, as ``report.crowd``."""
    if mode not in ("whole", "detect"):
        raise ValueError(f"mode must be 'whole' or 'detect', not {mode!r}")
    clf = classifier or FaceEmotionClassifier()
    if mode == "detect" and detector is None:
        detector = build_detector()
    paths, labels, ignored = labelled_images(root, limit)
    pred = np.full(len(paths), -1, np.int64)  # -1: no face found (detect mode)
    crops: list[np.ndarray] = []
    where: list[int] = []

    def flush() -> None:
        if crops:
            pred[where] = clf.predict(np.stack(crops)).argmax(axis=1)
            crops.clear()
            where.clear()

    for i, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {path}")
        if mode == "whole":
            h, w = image.shape[:2]
            crop = prepare_whole(clf, image, w, h)
        else:
            canvas, pasted = paste_in_frame(image, frame, face_scale)
            assert detector is not None
            best = max(detector.detect(canvas), key=lambda f: iou(f.box, pasted.box), default=None)
            if best is None or iou(best.box, pasted.box) <= 0.0:
                continue
            crop = clf.prepare(canvas, [best])[0]
        crops.append(crop)
        where.append(i)
        if len(crops) >= batch:
            flush()
    flush()
    extra: dict[str, object] = {"mode": mode, "root": str(root)}
    if ignored:
        extra["ignored_folders"] = ignored
    if mode == "detect":
        extra.update(frame=list(frame), face_scale=face_scale, margin=clf.margin)
    report = report_of(np.asarray(labels), pred, extra)
    if mode == "detect":  # every class listed, found or not
        report.extra.setdefault("undetected_per_class", {label: 0 for label in FACE_EMOTIONS})
    if votes is not None:
        report.crowd = crowd_report(root, paths, pred, votes)
    return report


def crowd_report(root: Path, paths: list[Path], pred: np.ndarray, votes: Path) -> Report:
    """``pred`` scored against FER+'s majority rule; images it leaves out are counted in ``extra``."""
    majority = crowd_majority(root, paths, votes)
    kept = majority >= 0
    crowd = report_of(majority[kept], pred[kept], {"votes": str(votes), "rule": "majority"})
    crowd.extra["left_out"] = int((~kept).sum())
    crowd.extra["not_in_votes"] = int((majority == -2).sum())
    return crowd


def crowd_majority(root: Path, paths: list[Path], votes: Path) -> np.ndarray:
    """FER+ majority label of each image (-1: no majority / not one of the 7 classes, -2: no votes).

    The CSV's paths are relative to the FER2013 root (``test/angry/…``): an image is looked up by its
    path relative to ``root``'s parent, else by its file name (unique in FER2013)."""
    with open(votes, newline="") as f:
        names = [row["path"] for row in csv.DictReader(f)]
    by_name = {Path(n).name: n for n in names}
    known = set(names)
    keys = []
    for p in paths:
        rel = str(p.relative_to(root.parent)) if p.is_relative_to(root.parent) else ""
        keys.append(rel if rel in known else by_name.get(p.name, ""))
    counts = read_votes(votes, keys)
    label = majority(counts)
    return np.where(counts.sum(1) == 0, -2, label)


def prepare_whole(clf: FaceEmotionClassifier, image: np.ndarray, w: int, h: int) -> np.ndarray:
    """The model input for an image that is one face: box = the whole image, margin 0."""
    return prepare_face_crops(
        image, [Face((0.0, 0.0, float(w), float(h)), 1.0)], clf.size, 0.0, clf.scale, clf.offset
    )[0]
