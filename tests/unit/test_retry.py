"""The shared reconnect delay: doubling from the base, capped, jittered within bounds, and finite for
sources that have been failing for days (the old per-loop formula raised OverflowError after ~1,025
consecutive failures, which killed a camera's thread after ~8.5 h offline at the 30 s cap)."""

from __future__ import annotations

import pytest

from emostream.retry import backoff_delay


def test_doubles_from_base_up_to_cap() -> None:
    assert [backoff_delay(n, 0.5, 30.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_no_failure_no_wait() -> None:
    assert backoff_delay(0, 0.5, 30.0) == 0.0


@pytest.mark.parametrize("failures", [1_025, 1_100, 10**6])
def test_days_of_failures_stay_at_cap(failures: int) -> None:
    assert backoff_delay(failures, 0.5, 30.0) == 30.0
    assert 27.0 <= backoff_delay(failures, 0.5, 30.0, jitter=0.1) <= 33.0


def test_jitter_spreads_within_bounds() -> None:
    delays = {backoff_delay(3, 0.5, 30.0, jitter=0.1) for _ in range(200)}
    assert all(1.8 <= d <= 2.2 for d in delays)
    assert len(delays) > 100  # actually random, so cameras that fell together do not retry in lockstep
