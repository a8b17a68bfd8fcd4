"""The pacer of files played at their own pace: one clock from the first item, across loops."""

from __future__ import annotations

import threading

import pytest

from emostream.sources import pace
from emostream.sources.pace import Pacer


class Clock:
    """A monotonic clock that only moves when the pacer sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now


class Stop(threading.Event):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.clock.slept.append(round(timeout, 6))
        self.clock.now += timeout
        return self.is_set()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(pace.time, "monotonic", c.monotonic)
    return c


def test_items_wait_for_their_media_time_from_the_first(clock: Clock) -> None:
    p = Pacer(Stop(clock))
    assert p.wait(5.0) == 0.0  # the first item anchors the clock, whatever its media time
    assert p.wait(5.2) == pytest.approx(0.2)
    clock.now += 0.5  # decoding took longer than the media time between two items
    assert p.wait(5.4) == 0.0 and clock.slept == [0.2]
    assert p.wait(6.0) == pytest.approx(0.3)  # due at 100 + 1.0; now 100.7


def test_a_loop_keeps_the_clock(clock: Clock) -> None:
    """A second pass continues media time; it is paced against the first pass's anchor, so the part
    of a pass before its first paced item does not go out at once (the old per-pass anchor did)."""
    p = Pacer(Stop(clock))
    for ts in (0.0, 0.2, 0.4, 0.6, 0.8):
        p.wait(ts)
    clock.now += 0.1  # the rest of the pass and the reopening, decoded without waiting
    assert p.wait(1.0) == pytest.approx(0.1)  # the next pass's first item waits for its time
    assert clock.now == pytest.approx(101.0)


def test_far_behind_or_backwards_starts_again(clock: Clock) -> None:
    p = Pacer(Stop(clock), slack=1.0)
    p.wait(0.0)
    clock.now += 30.0  # a file that could not be reopened for a while
    assert p.wait(0.2) == 0.0 and p.wait(0.4) == pytest.approx(0.2)  # no burst to catch up
    p.wait(10.0)
    assert p.wait(3.0) == 0.0  # media time went back: anchored again
    assert p.wait(3.5) == pytest.approx(0.5)


def test_stopped_while_waiting(clock: Clock) -> None:
    stop = Stop(clock)
    p = Pacer(stop)
    p.wait(0.0)
    stop.set()
    assert p.wait(1.0) is None
