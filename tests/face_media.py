"""Face frames the tests make themselves: no ../shared needed (like speech_media.py for audio)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest


def astronaut_frames(n: int) -> list[np.ndarray]:
    """``n`` 480×270 frames panning over scikit-image's public-domain astronaut photograph (one face)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs scikit-image (the demo extra)")
    png = Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"
    img = cv2.imread(str(png), cv2.IMREAD_COLOR)
    assert img is not None
    frames = []
    for i in range(n):
        x0 = 10 + 2 * i  # the face drifts slowly to the left: one track throughout
        crop = img[20 : 20 + 288, x0 : x0 + 512]
        frames.append(cv2.resize(crop, (480, 270), interpolation=cv2.INTER_AREA))
    return frames
