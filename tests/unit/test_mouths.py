"""Which faces a camera with a tied audio source measures for speech: not those too small to read lips."""

from __future__ import annotations

import cv2
import pytest
from face_media import astronaut_frames

from emostream.analysis.face.analyzer import CameraAnalyzer
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import build_detector
from emostream.analysis.face.landmarks import FaceLandmarker
from emostream.analysis.speaker.board import SpeakerBoard
from emostream.config import Config
from emostream.metrics import Metrics
from emostream.types import Frame


@pytest.mark.parametrize(("shrink", "measured"), [(1.0, True), (0.25, False)])
def test_a_face_too_small_for_its_lips_is_no_speaker_candidate(shrink: float, measured: bool) -> None:
    frames = [
        cv2.resize(f, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) for f in astronaut_frames(6)
    ]
    board = SpeakerBoard("cam")
    cfg = Config()
    cam = CameraAnalyzer(
        "cam", cfg, build_detector(min_face=8), FaceEmotionClassifier(), Metrics(), board, FaceLandmarker()
    )
    for i, img in enumerate(frames):
        cam.process(Frame("cam", i, i * 0.1, 0.0, img))
    widths = [t.face.width for t in cam.tracked]
    assert len(widths) == 1  # the face is tracked either way (84 px, or 21 px shrunk)
    assert (widths[0] >= cfg.speaker.min_face) is measured
    assert bool(board.window(0.0, 1.0)) is measured
