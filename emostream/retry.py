"""Capped exponential backoff: the one delay rule of the camera, audio, publisher and client retry loops."""

from __future__ import annotations

import random

# 2**60 × any sane base is far past any cap; the exponent is clamped so that a source that has failed
# for days (thousands of attempts) still gets a float delay instead of an OverflowError.
_MAX_EXPONENT = 60


def backoff_delay(failures: int, base: float, cap: float, jitter: float = 0.0) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure (1 = the first): ``base`` × 2^(n−1),
    at most ``cap``, times a uniform factor in [1 − jitter, 1 + jitter] so that cameras that went down
    together do not all reconnect in the same instant."""
    if failures < 1:
        return 0.0
    delay = min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT))
    if jitter:
        delay *= random.uniform(1.0 - jitter, 1.0 + jitter)
    return delay
