"""Following tracks between whole-frame searches: YuNet near known boxes, and the analyzer's cadence."""

from __future__ import annotations

import numpy as np
import pytest
from face_media import astronaut_frames

from emostream.analysis.face.analyzer import CameraAnalyzer
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import build_detector
from emostream.analysis.geometry import iou
from emostream.config import Config
from emostream.metrics import Metrics
from emostream.types import Frame


@pytest.fixture(scope="module")
def detector():
    return build_detector()


@pytest.fixture(scope="module")
def classifier() -> FaceEmotionClassifier:
    return FaceEmotionClassifier()


def _camera(detector, classifier: FaceEmotionClassifier, interval: float) -> CameraAnalyzer:
    cfg = Config()
    cfg = cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"scan_interval": interval})})
    return CameraAnalyzer("cam", cfg, detector, classifier, Metrics())


def test_near_a_known_box_the_same_face_is_found(detector) -> None:
    frames = astronaut_frames(6)
    (before,) = detector.detect(frames[0])
    overlaps = []
    for img in frames[1:]:
        (whole,) = detector.detect(img)
        (near,) = detector.detect_near(img, [before.box])
        # the same pixels at the same scale on the same grid: about the box a whole search gives
        # (the network sees black past the window's edge, so a box near the edge moves a little)
        overlaps.append(iou(whole.box, near.box))
        assert abs(whole.score - near.score) < 0.1
        assert len(near.landmarks) == 5
        before = near
    assert min(overlaps) > 0.85 and sum(overlaps) / len(overlaps) > 0.95


def test_nothing_is_found_near_a_box_without_a_face(detector) -> None:
    img = astronaut_frames(1)[0]
    (face,) = detector.detect(img)
    assert face.box[0] > 150  # the face is right of the middle: the left edge is background
    assert detector.detect_near(img, [(5.0, 200.0, 45.0, 250.0)]) == []
    assert detector.detect_near(img, []) == []
    # boxes of a stream that came back smaller: wholly outside this frame, nothing to search
    assert detector.detect_near(img, [(900.0, 600.0, 980.0, 700.0)]) == []


def test_a_neighbour_is_left_to_its_own_window(detector) -> None:
    one = astronaut_frames(1)[0]
    pair = np.ascontiguousarray(np.concatenate([one, one], axis=1))  # 960×270: the face twice
    left, right = sorted(detector.detect(pair), key=lambda f: f.box[0])
    found = detector.detect_near(pair, [left.box])
    assert len(found) == 1 and iou(found[0].box, left.box) > 0.9
    both = sorted(detector.detect_near(pair, [left.box, right.box]), key=lambda f: f.box[0])
    assert len(both) == 2  # each window its own face
    assert iou(both[0].box, left.box) > 0.9 and iou(both[1].box, right.box) > 0.9


def test_the_whole_frame_is_searched_every_interval_and_the_track_followed_between(
    detector,
    classifier: FaceEmotionClassifier,
) -> None:
    frames = astronaut_frames(20)
    cam = _camera(detector, classifier, 0.5)
    found = []
    for i, img in enumerate(frames):  # 10 frames/s of media time
        cam.process(Frame("cam", i, i * 0.1, 0.0, img))
        found.append(len(cam.found))
    assert cam.scans == 4  # at 0, 0.5, 1.0 and 1.5 s
    reg = cam._metrics.registry
    searches = {
        k: reg.get_sample_value("emostream_detector_searches_total", {"camera": "cam", "kind": k})
        for k in ("whole", "near")
    }
    assert searches == {"whole": 4, "near": 16}
    assert found == [1] * 20  # the face on every frame, between the scans too
    assert cam.tracker.confirmed == 1
    every = _camera(detector, classifier, 0.0)
    for i, img in enumerate(frames[:5]):
        every.process(Frame("cam", i, i * 0.1, 0.0, img))
    assert every.scans == 5


def test_a_newcomer_waits_for_the_next_search_and_time_going_back_searches(
    detector,
    classifier: FaceEmotionClassifier,
) -> None:
    face = astronaut_frames(1)[0]
    blank = np.zeros_like(face)
    cam = _camera(detector, classifier, 0.5)
    seen = []
    for i, img in enumerate([blank, blank, face, face, face, face, face]):
        cam.process(Frame("cam", i, i * 0.1, 0.0, img))
        seen.append(len(cam.found))
    # nothing to follow after the blank search at 0 s: the face counts from the search at 0.5 s
    assert seen == [0, 0, 0, 0, 0, 1, 1]
    cam.process(Frame("cam", 7, 0.05, 0.0, face))  # a file played again from its start
    assert cam.scans == 3


def test_a_detector_that_cannot_look_near_searches_every_frame(classifier: FaceEmotionClassifier) -> None:
    cam = _camera(build_detector("blazeface"), classifier, 0.5)
    for i, img in enumerate(astronaut_frames(4)):
        cam.process(Frame("cam", i, i * 0.1, 0.0, img))
        assert len(cam.found) == 1
    assert cam.scans == 4


def test_windows_sit_on_the_grid_and_merge_when_they_overlap() -> None:
    from emostream.analysis.face.yunet import _windows

    (win,) = _windows([(100.0, 50.0, 140.0, 100.0)], 1.0, 288, 480)  # 40×50 face: 80 px of context
    assert all(v % 32 == 0 for v in win)
    assert win[0] <= 80 and win[2] >= 160 and win[1] <= 35 and win[3] >= 115
    merged = _windows([(100.0, 50.0, 140.0, 100.0), (150.0, 50.0, 190.0, 100.0)], 1.0, 288, 480)
    assert len(merged) == 1
    apart = _windows([(10.0, 10.0, 40.0, 40.0), (400.0, 200.0, 430.0, 230.0)], 1.0, 288, 480)
    assert len(apart) == 2 and apart[1][2] <= 480 and apart[1][3] <= 288
    (small,) = _windows([(400.0, 200.0, 500.0, 300.0)], 0.5, 160, 288)  # searched at half size
    assert small[2] <= 288 and small[3] <= 160
    assert _windows([(-500.0, -500.0, -400.0, -400.0)], 1.0, 288, 480) == []
