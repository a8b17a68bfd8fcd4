"""FER+ crowd votes: the majority rule, the training targets, and ``eval faces --votes``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emostream.tools.evaluate.crowd import VOTE_COLUMNS, majority, read_votes, soft_targets
from emostream.types import FACE_EMOTIONS

IDX = {c: i for i, c in enumerate(VOTE_COLUMNS)}


def _votes(**counts: int) -> np.ndarray:
    row = np.zeros(len(VOTE_COLUMNS), np.int64)
    for name, n in counts.items():
        row[IDX[name]] = n
    return row


def test_majority_needs_more_than_half_and_one_of_the_seven_classes() -> None:
    votes = np.stack(
        [
            _votes(neutral=6, sadness=4),  # 6 of 10: neutral
            _votes(neutral=5, sadness=5),  # a tie at half: no majority
            _votes(happiness=4, surprise=3, fear=3),  # plurality only
            _votes(contempt=7, anger=3),  # contempt has no output
            _votes(NF=9, neutral=1),  # not a face
            _votes(unknown=6, disgust=4),
            _votes(),  # FER+ dropped the image
            _votes(fear=2, anger=1),  # fewer than 10 voters: 2 of 3
        ]
    )
    got = majority(votes)
    want = [FACE_EMOTIONS.index("neutral"), -1, -1, -1, -1, -1, -1, FACE_EMOTIONS.index("fear")]
    assert got.tolist() == want


def test_soft_targets_drop_what_the_network_cannot_say() -> None:
    labels = np.array([FACE_EMOTIONS.index("sad")] * 4)
    votes = np.stack(
        [
            _votes(neutral=7, sadness=1, contempt=1, unknown=1),
            _votes(NF=6, neutral=4),
            _votes(contempt=10),
            _votes(neutral=1),
        ]
    )
    targets, keep = soft_targets(votes, labels, label_votes=0.0, drop_single=True)
    assert keep.tolist() == [True, False, False, True]
    neutral, sad = FACE_EMOTIONS.index("neutral"), FACE_EMOTIONS.index("sad")
    # contempt and unknown dropped; the single sadness vote is an outlier next to 7 neutral ones
    assert targets[0, neutral] == pytest.approx(1.0) and targets[0, sad] == 0.0
    assert targets[3, neutral] == pytest.approx(1.0)  # a lone vote is kept when nothing else is left
    assert np.allclose(targets[keep].sum(1), 1.0)
    kept_single, _ = soft_targets(votes, labels, drop_single=False)
    assert kept_single[0, sad] == pytest.approx(1 / 8)


def test_the_fer2013_label_as_extra_votes_never_overturns_a_majority() -> None:
    rng = np.random.default_rng(3)
    seven = rng.multinomial(10, np.ones(7) / 7, size=2000)
    votes = np.concatenate([seven, np.zeros((2000, 3), np.int64)], axis=1)
    labels = rng.integers(0, 7, 2000)
    targets, keep = soft_targets(votes, labels, label_votes=1.0, drop_single=False)
    major = majority(votes)
    has = (major >= 0) & keep
    assert has.sum() > 0
    assert np.array_equal(targets[has].argmax(1), major[has])
    # ...and where the crowd is split, the label tips the balance towards itself
    split = (major < 0) & keep
    assert (targets[split, labels[split]] > 0).all()


def test_read_votes_by_path_with_zeros_for_missing(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "ferplus_image", "duplicate", *VOTE_COLUMNS])
        w.writerow(["test/happy/a.jpg", "fer1.png", 0, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0])
    got = read_votes(path, ["test/happy/a.jpg", "test/sad/b.jpg"])
    assert got[0, IDX["happiness"]] == 9 and got[1].sum() == 0
    (tmp_path / "bad.csv").write_text("path,neutral\nx,1\n")
    with pytest.raises(ValueError, match="no column"):
        read_votes(tmp_path / "bad.csv", ["x"])


def test_eval_faces_with_votes_reports_the_crowd_and_what_it_left_out(tmp_path: Path) -> None:
    root = tmp_path / "fer2013"
    rng = np.random.default_rng(0)
    rows = []
    for k, label in enumerate(FACE_EMOTIONS):
        (root / "test" / label).mkdir(parents=True)
        for i in range(3):
            name = f"test/{label}/img{i}.jpg"
            cv2.imwrite(str(root / name), rng.integers(0, 256, (48, 48), dtype=np.uint8))
            crowd = [0] * len(VOTE_COLUMNS)
            if i == 0:
                crowd[IDX["neutral"]] = 8  # the crowd says neutral, whatever the folder says
            elif i == 1:
                crowd[IDX["contempt"]] = 6  # no majority among the seven: left out
            if i < 2:  # i == 2 has no row at all: left out too
                rows.append([name, f"fer{k}{i}.png", 0, *crowd])
    votes = root / "ferplus_votes.csv"
    with votes.open("w", newline="") as f:
        csv.writer(f).writerows([["path", "ferplus_image", "duplicate", *VOTE_COLUMNS], *rows])
    cmd = [sys.executable, "-m", "emostream", "eval", "faces", str(root / "test"), "--votes", str(votes)]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["n"] == 21
    crowd = result["crowd"]
    assert crowd["n"] == 7 and crowd["left_out"] == 14 and crowd["not_in_votes"] == 7
    neutral = FACE_EMOTIONS.index("neutral")
    assert [sum(r) for r in crowd["confusion"]] == [7 if k == neutral else 0 for k in range(7)]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert "FER+ crowd majority (14 images without one left out)" in text
