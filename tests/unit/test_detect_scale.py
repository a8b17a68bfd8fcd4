"""YuNet searches at the size the smallest wanted face needs, not the camera's."""

from __future__ import annotations

import pytest

from emostream.analysis.face.yunet import smallest_face


@pytest.mark.parametrize(
    ("min_face", "height", "want"),
    [
        (None, 270, 16.0),
        (None, 720, 36.0),
        (None, 1080, 54.0),
        (None, 100, 16.0),
        (32, 270, 32.0),
        (48, 1080, 48.0),
        (10, 270, 10.0),
    ],
)
def test_smallest_face_defaults_to_a_twentieth_of_the_height(
    min_face: int | None, height: int, want: float
) -> None:
    assert smallest_face(min_face, height) == want


def test_a_1080p_frame_is_searched_small_and_boxes_come_back_in_its_pixels() -> None:
    import cv2
    from face_media import astronaut_frames

    from emostream.analysis.face.detect import build_detector
    from emostream.analysis.geometry import iou

    small = astronaut_frames(1)[0]  # 480×270, searched whole
    big = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_CUBIC)  # searched at 569×320
    det = build_detector()
    (a,), (b,) = det.detect(small), det.detect(big)
    scaled = tuple(v * 4 for v in a.box)
    assert iou(scaled, b.box) > 0.7 and b.width > 100


def test_a_frame_smaller_than_the_search_scale_allows_is_searched_at_one_pixel() -> None:
    import numpy as np

    from emostream.analysis.face.detect import build_detector

    det = build_detector(min_face=64)  # a 1×1 frame scaled by 16/64 would be 0 px (OpenCV refuses)
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert det.detect(tiny) == []
    assert det.detect_near(tiny, [(0.0, 0.0, 1.0, 1.0)]) == []
