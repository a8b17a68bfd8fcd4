"""Pixel formats: any image array a caller hands over, as the 8-bit layouts the models take.

Used by the detector (BGR) and the classifier (gray), so frames of any depth or channel count go
through the same rules whichever stage sees them first.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_uint8(img: np.ndarray) -> np.ndarray:
    """8-bit pixels: 16-bit images keep their top byte; other types are clipped to 0..255 (NaN → 0)."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    return np.nan_to_num(np.clip(img.astype(np.float64), 0, 255)).astype(np.uint8)


def as_bgr(image: np.ndarray) -> np.ndarray | None:
    """Any image array as contiguous H×W×3 BGR uint8 (gray, one-channel and BGRA accepted); None if empty."""
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        return None
    img = to_uint8(img)
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(img[:, :, 0]), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
    if channels != 3:
        return None
    return np.ascontiguousarray(img)
