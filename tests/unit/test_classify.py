"""Face emotion classification: the shared crop function and the shipped models on real faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emostream.analysis.face.classify import FaceEmotionClassifier, crop_square, prepare_face_crops
from emostream.analysis.face.detect import build_detector
from emostream.errors import ModelError
from emostream.runtime import models_dir
from emostream.types import FACE_EMOTIONS, Face


@pytest.fixture(scope="module")
def clf() -> FaceEmotionClassifier:
    return FaceEmotionClassifier()


def _fer_faces(shared: Path, label: str, n: int) -> list[np.ndarray]:
    paths = sorted((shared / "data" / "fer2013" / "test" / label).glob("*.jpg"))[:n]
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]


def test_model_parameters_come_from_the_model(clf: FaceEmotionClassifier) -> None:
    # The default (our FER2013 CNN) and the fer baseline differ in input size and crop margin.
    assert clf.labels == FACE_EMOTIONS
    assert clf.size == 48 and clf.margin == pytest.approx(0.05)
    assert clf.scale == pytest.approx(2 / 255) and clf.offset == pytest.approx(-1.0)
    baseline = FaceEmotionClassifier("fer_mini_xception.onnx")
    assert baseline.labels == FACE_EMOTIONS
    assert baseline.size == 64 and baseline.margin == pytest.approx(0.1)
    assert FaceEmotionClassifier(margin=0.3).margin == 0.3


def test_prepare_face_crops_shapes_and_range() -> None:
    img = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    faces = [Face((10, 20, 60, 90), 0.9), Face((150, 80, 230, 140), 0.8), Face((-30, -30, 5, 5), 0.5)]
    out = prepare_face_crops(img, faces, 48, 0.2)
    assert out.shape == (3, 48, 48, 1) and out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert prepare_face_crops(img, [], 64, 0.1).shape == (0, 64, 64, 1)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    for variant in (gray, gray[:, :, None], cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)):
        assert np.array_equal(prepare_face_crops(variant, faces, 48, 0.2), out)


def test_crop_square_margin_and_padding() -> None:
    gray = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8)
    assert crop_square(gray, (40, 40, 60, 60), 0.0).shape == (20, 20)
    assert crop_square(gray, (40, 40, 60, 60), 0.5).shape == (40, 40)
    assert crop_square(gray, (40, 30, 60, 70), 0.0).shape == (40, 40)  # longer side wins
    edge = crop_square(gray, (-10, -10, 10, 10), 0.0)  # half outside: replicated border
    assert edge.shape == (20, 20) and (edge[:10, :10] == gray[0, 0]).all()
    assert crop_square(gray, (200, 200, 210, 210), 0.0).shape == (10, 10)  # fully outside: no crash


@pytest.mark.shared
def test_batched_equals_one_by_one(clf: FaceEmotionClassifier, shared: Path) -> None:
    faces = [f for label in FACE_EMOTIONS for f in _fer_faces(shared, label, 2)]
    canvas = np.zeros((48, 48 * len(faces)), np.uint8)
    for i, f in enumerate(faces):
        canvas[:, 48 * i : 48 * (i + 1)] = f
    boxes = [Face((48.0 * i, 0.0, 48.0 * (i + 1), 48.0), 1.0) for i in range(len(faces))]
    batched = clf.classify(canvas, boxes)
    single = [clf.classify(canvas, [b])[0] for b in boxes]
    assert len(batched) == len(boxes)
    for a, b in zip(batched, single, strict=True):
        assert a.labels == FACE_EMOTIONS and sum(a.probs) == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(a.probs, b.probs, atol=1e-5)
    assert clf.classify(canvas, []) == []


@pytest.mark.shared
def test_real_faces_are_recognised(shared: Path) -> None:
    clf = FaceEmotionClassifier(margin=0.0)
    correct = total = 0
    for label in ("happy", "surprise"):
        for face in _fer_faces(shared, label, 30):
            scores = clf.classify(face, [Face((0, 0, 48, 48), 1.0)])[0]
            correct += scores.top == label
            total += 1
    assert correct >= 0.7 * total


@pytest.mark.shared
def test_detected_faces_on_a_clip(clf: FaceEmotionClassifier, media: list[Path]) -> None:
    detector = build_detector("blazeface")
    ok, frames = cv2.imreadmulti(str(next(p for p in media if "female-and-male" in p.name)))
    assert ok
    faces = detector.detect(frames[0])
    assert len(faces) == 2
    scores = clf.classify(frames[0], faces)
    assert len(scores) == 2 and all(s.labels == FACE_EMOTIONS for s in scores)
    assert all(abs(sum(s.probs) - 1) < 1e-5 for s in scores)


def test_missing_corrupt_and_wrong_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        FaceEmotionClassifier(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError):
        FaceEmotionClassifier(bad)
    with pytest.raises(ModelError):
        FaceEmotionClassifier(models_dir() / "blazeface_full.onnx")
