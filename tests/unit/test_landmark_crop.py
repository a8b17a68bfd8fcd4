"""The face mesh's crop: where its pixels come from in the frame, and black beyond the frame's edge."""

from __future__ import annotations

import numpy as np
import pytest

from emostream.analysis.face.landmarks import SIZE, crop_for_landmarks


@pytest.mark.parametrize(("x", "y", "box"), [(100, 80, (60, 40, 140, 120)), (30, 250, (0, 200, 70, 270))])
def test_a_crop_pixel_maps_back_to_the_frame_pixel_it_shows(x: int, y: int, box: tuple) -> None:
    frame = np.zeros((270, 480, 3), np.uint8)
    frame[y - 1 : y + 2, x - 1 : x + 2] = (0, 0, 255)  # a red 3×3 dot (BGR)
    crop, (x0, y0, scale) = crop_for_landmarks(frame, box)
    assert crop.shape == (3, SIZE, SIZE) and crop.dtype == np.float32
    red = crop[2]  # BGR, channels first
    v, u = np.unravel_index(int(red.argmax()), red.shape)
    assert abs(x0 + u * scale - x) <= 1.0 and abs(y0 + v * scale - y) <= 1.0
    assert scale == pytest.approx(1.5 * max(box[2] - box[0], box[3] - box[1]) / SIZE, rel=0.02)


def test_outside_the_frame_is_black() -> None:
    frame = np.full((100, 100, 3), 200, np.uint8)
    crop, (x0, y0, _scale) = crop_for_landmarks(frame, (-10, -10, 30, 30))  # the top-left corner
    assert x0 < 0 and y0 < 0
    assert crop[:, 0, 0].max() == 0 and crop[:, SIZE - 1, SIZE - 1].min() > 180
    gone, _ = crop_for_landmarks(frame, (500, 500, 540, 540))  # wholly outside
    assert gone.max() == 0
