"""The detector's downscale: 2×2 averages while a factor 2 is left, bilinear for the rest."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from face_media import astronaut_frames

from emostream.analysis.face.pixels import shrink


def _big() -> np.ndarray:
    return cv2.resize(astronaut_frames(1)[0], (1280, 720), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ((1280, 720), (569, 320)),
        ((1920, 1080), (569, 320)),
        ((1281, 721), (640, 360)),
        ((700, 400), (620, 354)),
    ],
)
def test_the_size_asked_for_comes_back_whatever_the_factor(
    src: tuple[int, int], dst: tuple[int, int]
) -> None:
    img = cv2.resize(_big(), src, interpolation=cv2.INTER_LINEAR)
    out = shrink(img, *dst)
    assert out.shape == (dst[1], dst[0], 3) and out.dtype == np.uint8


def test_the_pixels_are_those_of_an_area_average() -> None:
    img = _big()
    for size in ((569, 320), (640, 360), (400, 225), (300, 169)):
        ours = shrink(img, *size).astype(np.int16)
        area = cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(np.int16)
        nearest = cv2.resize(img, size, interpolation=cv2.INTER_NEAREST).astype(np.int16)
        # within 1.5 grey levels of OpenCV's exact area average on average, and much nearer to it
        # than nearest-neighbour sampling; a bilinear step that mapped pixels to the cut image's
        # own size (not the whole image's) failed here at 400×225: 2.1 against nearest's 4.0
        assert np.abs(ours - area).mean() < 1.5
        assert np.abs(ours - area).mean() < 0.3 * np.abs(nearest - area).mean()


def test_at_a_power_of_two_it_is_the_area_average() -> None:
    img = _big()
    assert np.array_equal(shrink(img, 640, 360), cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
    # two halvings: each rounds to whole grey levels, so a pixel may end one level off
    quarter = shrink(img, 320, 180).astype(np.int16)
    assert np.abs(quarter - cv2.resize(img, (320, 180), interpolation=cv2.INTER_AREA)).max() <= 1
    assert shrink(img, 1280, 720) is img
