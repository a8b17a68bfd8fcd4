"""`emostream eval faces`: folders matched by name, metrics vs hand-computed values, the PNG, both paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.cli import main
from emostream.tools.evaluate.faces import Report, confusion_png, evaluate, labelled_images, paste_in_frame
from emostream.types import FACE_EMOTIONS


def _fake_set(root: Path, per_class: int = 2, names: dict[str, str] | None = None) -> Path:
    rng = np.random.default_rng(0)
    for label in FACE_EMOTIONS:
        folder = root / (names or {}).get(label, label)
        folder.mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (48, 48), dtype=np.uint8))
    return root


def test_folders_are_matched_by_name_not_order(tmp_path: Path) -> None:
    root = _fake_set(tmp_path / "set", 1, {"sad": "SAD", "happy": "Happy"})
    (root / "README").mkdir()
    (root / "happy_extra.txt").write_text("not a folder")
    paths, labels, ignored = labelled_images(root)
    assert ignored == ["README"]
    assert len(paths) == 7
    for p, k in zip(paths, labels, strict=True):
        assert p.parent.name.lower() == FACE_EMOTIONS[k]
    with pytest.raises(FileNotFoundError):
        labelled_images(tmp_path / "missing")
    (tmp_path / "empty" / "angry").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no images"):
        labelled_images(tmp_path / "empty")


def test_metrics_match_hand_computed_values() -> None:
    cm = np.zeros((7, 7), np.int64)
    a, h = FACE_EMOTIONS.index("angry"), FACE_EMOTIONS.index("happy")
    cm[a, a], cm[a, h] = 3, 1  # 4 angry: 3 right, 1 called happy
    cm[h, h], cm[h, a] = 5, 1  # 6 happy: 5 right, 1 called angry
    report = Report(cm)
    assert report.n == 10 and report.accuracy == pytest.approx(0.8)
    pc = report.per_class()
    assert pc["angry"]["precision"] == pytest.approx(3 / 4) and pc["angry"]["recall"] == pytest.approx(3 / 4)
    assert pc["happy"]["precision"] == pytest.approx(5 / 6) and pc["happy"]["recall"] == pytest.approx(5 / 6)
    assert pc["disgust"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # macro-F1 over the classes that occur (angry, happy), not over all seven
    assert report.macro_f1 == pytest.approx((0.75 + 5 / 6) / 2)
    missed = Report(cm, undetected=2, extra={"undetected_per_class": {"angry": 2}})
    assert missed.n == 12 and missed.accuracy == pytest.approx(8 / 12)
    assert missed.accuracy_detected == pytest.approx(0.8)
    assert missed.per_class()["angry"]["recall"] == pytest.approx(3 / 6)
    assert {"accuracy", "macro_f1", "n", "per_class", "confusion"} <= set(missed.as_dict())
    assert "confusion" in missed.text() and "no face detected in 2" in missed.text()


def test_confusion_png(tmp_path: Path) -> None:
    cm = np.arange(49).reshape(7, 7)
    path = tmp_path / "sub" / "cm.png"
    confusion_png(Report(cm), path)
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] > 400 and img.shape[1] > 400
    assert img.std() > 10  # drawn, not blank


def test_paste_in_frame_box() -> None:
    face = np.zeros((48, 48), np.uint8)
    canvas, box = paste_in_frame(face, (480, 270), 2.0)
    assert canvas.shape == (270, 480, 3)
    assert box.box == (192.0, 87.0, 288.0, 183.0)
    assert (canvas[87:183, 192:288] == 0).all() and (canvas[0, 0] == 128).all()
    with pytest.raises(ValueError):
        paste_in_frame(face, (64, 64), 2.0)


def test_eval_cli_json_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _fake_set(tmp_path / "set", 2, {"neutral": "Neutral"})
    png = tmp_path / "cm.png"
    assert main(["eval", "faces", str(root), "--json", "--confusion-png", str(png)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["n"] == 14 and 0.0 <= result["accuracy"] <= 1.0 and 0.0 <= result["macro_f1"] <= 1.0
    assert png.is_file()
    assert main(["eval", "faces", str(tmp_path / "nothing")]) == 2


@pytest.mark.shared
def test_whole_and_detect_paths_on_real_faces(shared: Path, tmp_path: Path) -> None:
    root = tmp_path / "fer"
    for label in ("happy", "surprise"):  # copy a few real PublicTest faces under shuffled-case names
        dst = root / label.upper()
        dst.mkdir(parents=True)
        for p in sorted((shared / "data" / "fer2013" / "test" / label).glob("*.jpg"))[:12]:
            shutil.copy(p, dst / p.name)
    clf = FaceEmotionClassifier()
    whole = evaluate(root, clf)
    assert whole.n == 24 and whole.accuracy >= 0.7
    assert whole.confusion.sum() == 24 and whole.undetected == 0
    detect = evaluate(root, clf, mode="detect")
    assert detect.n == 24 and detect.extra["mode"] == "detect"
    assert detect.confusion.sum() + detect.undetected == 24
    assert detect.confusion.sum() >= 12  # most of these faces are found once pasted into a frame
    with pytest.raises(ValueError):
        evaluate(root, clf, mode="bogus")
