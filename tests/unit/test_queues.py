"""Bounded queues: drop-oldest for live sources, blocking for files, close-and-drain."""

from __future__ import annotations

import threading
import time

import pytest

from emostream.sources.queues import BoundedQueue, Closed, DropPolicy


def test_drop_oldest_keeps_the_freshest_and_counts() -> None:
    dropped: list[int] = []
    q: BoundedQueue[int] = BoundedQueue(3, DropPolicy.DROP_OLDEST, on_drop=dropped.append)
    for i in range(10):
        assert q.put(i)
    assert q.dropped == 7 and dropped == list(range(7))
    assert [q.get(0), q.get(0), q.get(0)] == [7, 8, 9]
    assert q.get(0.01) is None


def test_block_loses_nothing() -> None:
    q: BoundedQueue[int] = BoundedQueue(2, DropPolicy.BLOCK)
    got: list[int] = []

    def consume() -> None:
        while True:
            try:
                item = q.get(1)
            except Closed:
                return
            if item is not None:
                got.append(item)
                time.sleep(0.001)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(200):
        assert q.put(i)
    q.close()
    t.join(5)
    assert got == list(range(200)) and q.dropped == 0


def test_block_takes_turns_in_bursts() -> None:
    """A file's producer fills the queue, then waits while it is drained: no item is added to a
    burst being drained."""
    q: BoundedQueue[int] = BoundedQueue(4, DropPolicy.BLOCK)
    t = threading.Thread(target=lambda: [q.put(i) for i in range(12)])
    t.start()
    depths = []
    for i in range(12):
        if i % 4 == 0:  # the test, not the queue's bounded wait, makes sure the burst is complete
            deadline = time.monotonic() + 5
            while len(q) < 4 and time.monotonic() < deadline:
                time.sleep(0.001)
        assert q.get(5) is not None
        if i % 4 < 3:  # the burst's last get wakes the producer, which refills at once
            time.sleep(0.002)  # a producer woken early would have refilled by now
            depths.append(len(q))
    t.join(5)
    assert depths == [3, 2, 1] * 3 and len(q) == 0


def test_block_consumer_takes_a_partial_burst() -> None:
    """A producer that stops short of filling the queue does not hold its items back."""
    q: BoundedQueue[int] = BoundedQueue(4, DropPolicy.BLOCK)
    q.put(7)
    assert q.get(5) == 7  # after waiting at most BURST_WAIT for the rest of the burst
    assert q.get(0.01) is None


def test_close_wakes_blocked_producer_and_drains() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, DropPolicy.BLOCK)
    q.put(1)
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(q.put(2)))
    t.start()
    time.sleep(0.05)
    q.close()
    t.join(2)
    assert result == [False]
    assert q.get(0) == 1
    with pytest.raises(Closed):
        q.get(0)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        BoundedQueue(0, DropPolicy.BLOCK)
