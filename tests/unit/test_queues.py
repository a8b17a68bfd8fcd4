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
