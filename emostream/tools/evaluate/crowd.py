"""FER+ crowd votes (Barsoum et al. 2016): read the votes CSV, the majority rule, and soft targets.

The CSV (``ferplus_votes.csv``) has one row per FER2013 image: ``path`` relative to the FER2013 root
(``test/angry/PublicTest_….jpg``), ``duplicate``, then ten vote counts. Training (``export/``) and
``emostream eval faces --votes`` read it through this one module, so both apply the same rule.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from emostream.types import FACE_EMOTIONS

__all__ = ["VOTE_COLUMNS", "majority", "read_votes", "soft_targets"]

# The CSV's vote columns, in its order.
VOTE_COLUMNS = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
# Vote column → FACE_EMOTIONS index; contempt, unknown and not-a-face have no FER2013 class (-1).
_TO_LABEL = np.array(
    [FACE_EMOTIONS.index(n) for n in ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear")]
    + [-1, -1, -1]
)


def read_votes(csv_path: Path, paths: list[str]) -> np.ndarray:
    """N×10 vote counts for ``paths`` (relative to the FER2013 root, as in the CSV's ``path`` column);
    a row of zeros where FER+ has no entry (it dropped 159 of FER2013's images)."""
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("path", *VOTE_COLUMNS) if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{csv_path}: no column {', '.join(missing)}")
        table = {row["path"]: [int(row[c]) for c in VOTE_COLUMNS] for row in reader}
    zero = [0] * len(VOTE_COLUMNS)
    return np.array([table.get(p, zero) for p in paths], np.int64).reshape(len(paths), len(VOTE_COLUMNS))


def majority(votes: np.ndarray) -> np.ndarray:
    """FER+'s majority rule: the FACE_EMOTIONS index of the column with more than half of an image's
    votes, or -1 when no column has that, the majority is contempt / unknown / not-a-face, or there are
    no votes. (Contempt is left out because the 7-class models have no such output.)"""
    total = votes.sum(1)
    top = votes.argmax(1)
    label = _TO_LABEL[top]
    return np.where((2 * votes.max(1) > total) & (total > 0), label, -1)


def soft_targets(
    votes: np.ndarray, labels: np.ndarray, label_votes: float = 0.0, drop_single: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(N×7 target distributions, N keep-mask) from the crowd's votes.

    Votes for contempt, unknown and not-a-face are dropped: the network has no such output, and
    spreading them over the seven classes would teach it that unclear faces look like every emotion.
    An image is kept only when its not-a-face votes are not a majority and a vote is left. With
    ``drop_single`` a class with exactly one vote is removed when another class has more (FER+'s own
    outlier rule: one annotator of ten is more often a slip than a signal). ``label_votes`` adds the
    FER2013 label as that many extra votes (the original annotator as one more member of the crowd).
    """
    v = votes[:, : len(_TO_LABEL) - 3].astype(np.float64)
    if drop_single:
        single = (v == 1) & (v.max(1, keepdims=True) > 1)
        v = np.where(single, 0.0, v)
    seven = np.zeros((len(votes), len(FACE_EMOTIONS)))
    for col, k in enumerate(_TO_LABEL[: v.shape[1]]):
        seven[:, k] = v[:, col]
    not_face = 2 * votes[:, VOTE_COLUMNS.index("NF")] > votes.sum(1)
    keep = (seven.sum(1) > 0) & ~not_face
    if label_votes:
        seven[np.arange(len(labels)), labels] += label_votes
    total = np.maximum(seven.sum(1, keepdims=True), 1e-9)
    return (seven / total).astype(np.float32), keep
