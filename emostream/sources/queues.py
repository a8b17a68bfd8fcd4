"""Bounded queues between stages, with a named policy for what happens when one is full.

Live cameras must never stall their capture thread (the camera keeps producing frames whatever we
do), so they drop the *oldest* frame and count it: what is analysed is always the freshest picture.
File sources have all the time in the world, so they *block* the producer and lose nothing, and
take turns in bursts: the producer fills the queue while the consumer waits (at most ``BURST_WAIT``),
then the consumer drains it while the producer waits. On one core, decoding one frame and
analysing one in turn made each evict the other's data from the caches.
"""

from __future__ import annotations

import collections
import enum
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["BoundedQueue", "Closed", "DropPolicy"]

T = TypeVar("T")
BURST_WAIT = 0.05  # s a BLOCK consumer waits for a full queue before taking what there is


class DropPolicy(enum.Enum):
    """What :meth:`BoundedQueue.put` does when the queue is full."""

    DROP_OLDEST = "drop_oldest"
    """Discard the oldest item to make room; latency stays bounded, throughput is sampled (live sources)."""
    BLOCK = "block"
    """Wait until the consumer has emptied the queue; nothing is lost, the producer slows down (files,
    replays), and producer and consumer take turns in bursts (see the module doc)."""


class Closed(Exception):
    """Raised by :meth:`BoundedQueue.get` once the queue is closed and empty."""


class BoundedQueue(Generic[T]):
    """A thread-safe FIFO of fixed capacity with a drop policy and a drop counter."""

    def __init__(self, maxsize: int, policy: DropPolicy, on_drop: Callable[[T], None] | None = None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.policy = policy
        self.dropped = 0
        self._on_drop = on_drop
        self._items: collections.deque[T] = collections.deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._closed = False
        self._draining = False  # BLOCK: the consumer is emptying a burst

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Add an item; returns False only if the queue was closed (or a BLOCK put timed out)."""
        dropped: T | None = None
        with self._lock:
            if self._closed:
                return False
            if len(self._items) >= self.maxsize:
                if self.policy is DropPolicy.DROP_OLDEST:
                    dropped = self._items.popleft()
                    self.dropped += 1
                else:
                    ok = self._not_full.wait_for(lambda: self._closed or not self._items, timeout=timeout)
                    if not ok or self._closed:
                        return False
            self._items.append(item)
            self._not_empty.notify()
        if dropped is not None and self._on_drop is not None:
            self._on_drop(dropped)
        return True

    def get(self, timeout: float | None = None) -> T | None:
        """Next item, ``None`` on timeout; raises :class:`Closed` when closed and drained."""
        with self._lock:
            if self.policy is DropPolicy.BLOCK and not self._draining:
                wait = BURST_WAIT if timeout is None else min(timeout, BURST_WAIT)
                self._not_empty.wait_for(lambda: self._closed or len(self._items) >= self.maxsize, wait)
            if not self._not_empty.wait_for(lambda: self._closed or self._items, timeout=timeout):
                return None
            if not self._items:
                raise Closed
            item = self._items.popleft()
            self._draining = bool(self._items) and self.policy is DropPolicy.BLOCK
            if not self._items:
                self._not_full.notify()
            return item

    def close(self) -> None:
        """No more puts; consumers drain what is left, then get :class:`Closed`."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
