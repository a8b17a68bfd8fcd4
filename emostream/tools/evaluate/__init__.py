"""``emostream eval``: accuracy of the face and speech models on labelled folders.

:mod:`.corpus` reads the folders (also for training), :mod:`.faces` and :mod:`.speech` score them,
:mod:`.crowd` applies FER+'s crowd votes, :mod:`.scores` holds the figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.tools.evaluate.faces import evaluate
from emostream.tools.evaluate.scores import confusion_png

__all__ = ["eval_faces"]


def eval_faces(
    folder: Path,
    model: str | None = None,
    threads: int = 1,
    margin: float | None = None,
    detect: bool = False,
    face_scale: float = 2.0,
    limit: int = 0,
    votes: Path | None = None,
    confusion: Path | None = None,
    as_json: bool = False,
) -> int:
    """``emostream eval faces DIR``: the text report (unless ``as_json``), then one JSON object."""
    clf = FaceEmotionClassifier(model, threads=threads, margin=margin)
    try:
        report = evaluate(
            folder, clf, mode="detect" if detect else "whole", face_scale=face_scale, limit=limit, votes=votes
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    if confusion is not None:
        confusion_png(report, confusion)
        if report.crowd is not None:
            confusion_png(report.crowd, confusion.with_name(confusion.stem + "-crowd" + confusion.suffix))
    if not as_json:
        print(report.text())
    print(json.dumps({"model": str(model or "default"), **report.as_dict()}))
    return 0
