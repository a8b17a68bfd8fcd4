"""Face detectors on real clips: BlazeFace (shipped) against YuNet, odd frames, negatives, bad models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emostream.analysis.face.blazeface import BlazeFaceDetector, blazeface_anchors, square_tiles
from emostream.analysis.face.detect import build_detector
from emostream.analysis.face.yunet import YuNetDetector
from emostream.analysis.geometry import nms
from emostream.errors import ModelError
from emostream.runtime import models_dir
from emostream.types import Face


def _frames(clip: Path, step: int = 1) -> list[np.ndarray]:
    ok, frames = cv2.imreadmulti(str(clip))
    assert ok and frames
    return frames[::step]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def blazeface() -> BlazeFaceDetector:
    det = build_detector("blazeface")
    assert isinstance(det, BlazeFaceDetector)
    return det


@pytest.fixture(scope="module")
def yunet(shared: Path) -> YuNetDetector:
    # searched at full size (its own 16 px floor), not at the daemon's default readable-face size
    det = build_detector(
        "yunet", shared / "models" / "yunet" / "yunet_s_dynamic.onnx", score_threshold=0.6, min_face=16
    )
    assert isinstance(det, YuNetDetector)
    return det


def _check_faces(faces: list[Face], shape: tuple[int, ...]) -> None:
    h, w = shape[:2]
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    for f in faces:
        x1, y1, x2, y2 = f.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 0 < f.score <= 1


@pytest.mark.shared
def test_blazeface_agrees_with_yunet_on_every_clip(
    blazeface: BlazeFaceDetector, yunet: YuNetDetector, media: list[Path]
) -> None:
    refs = hits = dets = 0
    for clip in media:
        clip_refs = clip_hits = 0
        for frame in _frames(clip, step=3):
            mine, ref = blazeface.detect(frame), yunet.detect(frame)
            _check_faces(mine, frame.shape)
            _check_faces(ref, frame.shape)
            assert all(len(f.landmarks) == 6 for f in mine) and all(len(f.landmarks) == 5 for f in ref)
            clip_refs += len(ref)
            clip_hits += sum(any(_iou(r.box, m.box) >= 0.5 for m in mine) for r in ref)
            dets += len(mine)
        assert clip_hits >= 0.8 * clip_refs, (clip.name, clip_hits, clip_refs)
        refs, hits = refs + clip_refs, hits + clip_hits
    assert refs > 100
    assert hits >= 0.9 * refs
    assert dets <= 1.1 * refs  # no flood of false positives


@pytest.mark.shared
def test_single_person_clip_gives_one_face_per_frame(blazeface: BlazeFaceDetector, media: list[Path]) -> None:
    clip = next(p for p in media if p.stem == "head-pose-face-detection-male")
    counts = [len(blazeface.detect(f)) for f in _frames(clip)]
    assert sum(c == 1 for c in counts) >= 0.9 * len(counts)


def test_no_face_in_flat_or_noise_images(blazeface: BlazeFaceDetector) -> None:
    rng = np.random.default_rng(1)
    images = [
        np.full((270, 480, 3), 128, np.uint8),
        rng.integers(0, 256, (270, 480, 3), dtype=np.uint8),
        cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (0, 0), 3),
    ]
    for img in images:
        assert blazeface.detect(img) == []


@pytest.mark.shared
def test_yunet_no_face_in_noise(yunet: YuNetDetector) -> None:
    noise = np.random.default_rng(2).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    assert yunet.detect(noise) == []


@pytest.mark.shared
@pytest.mark.parametrize("kind", ["blazeface", "yunet"])
def test_odd_frames(kind: str, blazeface: BlazeFaceDetector, yunet: YuNetDetector, media: list[Path]) -> None:
    det = blazeface if kind == "blazeface" else yunet
    frame = _frames(next(p for p in media if p.stem == "head-pose-face-detection-female"))[5]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert len(det.detect(frame)) == 1
    for variant in (gray, gray[:, :, None], cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), frame[:, 60:300]):
        faces = det.detect(variant)
        assert len(faces) == 1
        _check_faces(faces, variant.shape)
    for tiny in (frame[:1, :1], frame[:0], frame[:, :0], gray[:3, :2], np.zeros((0, 0), np.uint8)):
        assert det.detect(tiny) == []


@pytest.mark.shared
def test_shipped_yunet_with_merged_heads_finds_what_the_original_finds(
    yunet: YuNetDetector, shared: Path, media: list[Path]
) -> None:
    """models/yunet_s_dynamic.onnx (export/yunet_heads.py: one output head per stride, class and
    objectness as logits) against the shared original (twelve heads): the same faces, whole frames
    and windows, on every clip, at the clips' own size and upscaled to 720p (searched shrunk)."""
    shipped = build_detector("yunet", score_threshold=0.6, min_face=16)
    assert isinstance(shipped, YuNetDetector)
    assert [o.name for o in shipped.session.get_outputs()] == ["head_8", "head_16", "head_32"]
    assert {"cls_8", "obj_8", "bbox_8", "kps_8"} <= {o.name for o in yunet.session.get_outputs()}
    original_file = shared / "models" / "yunet" / "yunet_s_dynamic.onnx"
    big_original = build_detector("yunet", original_file, score_threshold=0.6)
    big_shipped = build_detector("yunet", score_threshold=0.6)
    faces = 0
    for clip in media:
        for frame in _frames(clip, step=8):
            pairs = [(yunet, shipped, frame)]
            pairs.append((big_original, big_shipped, cv2.resize(frame, (1280, 720))))
            for original, merged, image in pairs:
                want = original.detect(image)
                got = merged.detect(image)
                boxes = [f.box for f in want]
                near_want, near_got = original.detect_near(image, boxes), merged.detect_near(image, boxes)
                for a_list, b_list in ((want, got), (near_want, near_got)):
                    assert len(a_list) == len(b_list)
                    for a, b in zip(a_list, b_list, strict=True):
                        assert np.allclose(a.box, b.box, atol=1e-3) and abs(a.score - b.score) < 1e-5
                        assert np.allclose(a.landmarks, b.landmarks, atol=1e-3)
                faces += len(want)
    assert faces > 150


def test_merged_heads_cut_on_logits_keeps_every_passing_anchor() -> None:
    """The shipped detector skips the sigmoid for anchors whose class or objectness logit is below
    logit(t²); an anchor that passes with one probability barely above t² and the other near 1 is
    still kept, one barely below is not."""
    det = YuNetDetector(score_threshold=0.6)
    t2 = 0.36

    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    head = np.zeros((1, 6, 16), np.float32)
    head[0, :, :2] = [
        [logit(t2 + 1e-4), 12.0],  # passes: 0.3601 × ~1
        [12.0, logit(t2 + 1e-4)],
        [logit(t2 - 1e-4), 12.0],  # fails: 0.3599 × ~1
        [0.0, 0.0],  # 0.25
        [logit(0.7), logit(0.7)],  # 0.49
        [-30.0, 30.0],
    ]
    head[0, :, 2:] = np.arange(6)[:, None]
    anchor, prod, bb, kps = det._candidates([head], 0)
    assert anchor.tolist() == [0, 1, 4]
    assert np.allclose(prod, [t2 + 1e-4, t2 + 1e-4, 0.49], atol=1e-6)
    assert bb[:, 0].tolist() == [0, 1, 4] and kps.shape == (3, 10)


def test_missing_and_corrupt_models(tmp_path: Path, blazeface: BlazeFaceDetector) -> None:
    with pytest.raises(ModelError, match="not found"):
        build_detector("blazeface", tmp_path / "nope.onnx")
    with pytest.raises(ModelError, match="not found"):
        build_detector("yunet", tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not an onnx file")
    for kind in ("blazeface", "yunet"):
        with pytest.raises(ModelError) as err:
            build_detector(kind, bad)
        assert "\n" not in str(err.value)
    other = models_dir() / "fer_mini_xception.onnx"  # a valid model of the wrong kind
    with pytest.raises(ModelError):
        build_detector("blazeface", other)
    with pytest.raises(ModelError):
        build_detector("yunet", other)
    with pytest.raises(ValueError):
        build_detector("haar")


@pytest.mark.shared
def test_fixed_size_yunet_is_refused(shared: Path) -> None:
    """The 640x640 export would fail on every frame of another size; say so once, at load."""
    with pytest.raises(ModelError, match="fixed 640x640 input") as err:
        build_detector("yunet", shared / "models" / "yunet" / "yunet_s_640_640.onnx")
    assert "\n" not in str(err.value)


def test_threshold_and_name(blazeface: BlazeFaceDetector) -> None:
    assert blazeface.name == "blazeface" and blazeface.score_threshold == 0.6
    assert build_detector("blazeface", "blazeface_full.onnx", score_threshold=0.8).score_threshold == 0.8


def test_anchor_layouts() -> None:
    full = blazeface_anchors(192, 2304)
    assert full.shape == (2304, 2)
    assert np.allclose(full[0], [0.5 / 48, 0.5 / 48]) and np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    short = blazeface_anchors(128, 896)
    assert (
        short.shape == (896, 2)
        and np.allclose(short[0], short[1])
        and np.allclose(short[512], [1 / 16, 1 / 16])
    )
    with pytest.raises(ModelError):
        blazeface_anchors(192, 1000)


def test_square_tiles_cover_the_frame() -> None:
    for w, h in ((480, 270), (270, 480), (640, 480), (1920, 1080), (100, 20), (1, 1)):
        tiles = square_tiles(w, h)
        covered = np.zeros((h, w), bool)
        for x, y, side in tiles:
            assert side in (min(w, h), max(w, h)) and x + min(side, w) <= w and y + min(side, h) <= h
            covered[y : y + side, x : x + side] = True
        assert covered.all()
    assert square_tiles(480, 270) == [(0, 0, 270), (210, 0, 270)]
    assert square_tiles(480, 270, min_overlap=0.3) == [(0, 0, 270), (105, 0, 270), (210, 0, 270)]
    assert square_tiles(640, 480) == [(0, 0, 480), (160, 0, 480)]
    assert square_tiles(560, 480) == [(0, 0, 560)]  # near square: the whole frame, letterboxed
    assert square_tiles(100, 20) == [(0, 0, 100)]  # would need more than 4 tiles


def test_nms_hard_and_weighted() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    hard = nms(boxes, scores, 0.3)
    assert [i for i, _ in hard] == [0, 2] and np.allclose(hard[0][1], boxes[0])
    weighted = nms(boxes, scores, 0.3, weighted=True)
    assert np.allclose(weighted[0][1], [0.4, 0, 10.4, 10])
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.3) == []
