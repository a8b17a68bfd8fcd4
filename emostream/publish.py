"""Publishes events to Redis: XADD to one stream (approximate MAXLEN) and PUBLISH per camera.

The pipeline hands events to :meth:`Publisher.submit`, which never blocks: events wait in a bounded
in-memory buffer that one background thread writes to Redis in pipelined batches. While Redis is
unreachable the thread retries with capped backoff and keeps the events; only when the buffer is
full does the oldest event go, counted in ``emostream_publish_dropped`` and logged.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import redis

from .config import RedisConfig
from .events import encode
from .metrics import Metrics
from .types import Event
from .video import redact

log = logging.getLogger("emostream.publish")
BATCH = 256


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (redis://, rediss:// or unix://; AUTH and TLS options come from the URL)."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


class Publisher:
    """Background writer of events to Redis; thread-safe :meth:`submit`, graceful :meth:`stop`."""

    def __init__(
        self, url: str, cfg: RedisConfig, metrics: Metrics, backoff: tuple[float, float] = (0.2, 5.0)
    ):
        self.url = url
        self.cfg = cfg
        self.metrics = metrics
        self.published = 0
        self.dropped = 0
        self.connected = False
        self.latencies: list[float] | None = None  # frame-to-publish seconds, kept only when a benchmark asks
        self._client = connect(url)
        self._buf: collections.deque[Event] = collections.deque()
        self._cv = threading.Condition()
        self._closing = False
        self._backoff = backoff
        self._give_up_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    @property
    def pending(self) -> int:
        with self._cv:
            return len(self._buf)

    def start(self) -> None:
        self._thread.start()

    def submit(self, event: Event) -> None:
        with self._cv:
            if len(self._buf) >= self.cfg.buffer:
                self._buf.popleft()
                self.dropped += 1
                self.metrics.publish_dropped.inc()
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning(
                        "publish buffer full (%d events): dropped %d oldest so far",
                        self.cfg.buffer,
                        self.dropped,
                    )
            self._buf.append(event)
            self.metrics.publish_buffered.set(len(self._buf))
            self._cv.notify()

    def _write(self, batch: list[Event]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for ev in batch:
            data = encode(ev)
            pipe.xadd(
                self.cfg.stream,
                {"event": data, "type": ev.type, "camera": ev.camera},
                maxlen=self.cfg.maxlen,
                approximate=True,
            )
            pipe.publish(self.cfg.channel_prefix + ev.camera, data)
        pipe.execute()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._buf or self._closing)
                if not self._buf:
                    return
                batch = [self._buf.popleft() for _ in range(min(BATCH, len(self._buf)))]
            t0 = time.perf_counter()
            try:
                self._write(batch)
            except redis.RedisError as exc:
                failures += 1
                self.metrics.publish_errors.inc()
                self.metrics.redis_up.set(0)
                if self.connected or failures == 1:
                    log.warning(
                        "redis %s unavailable: %s; holding events", redact(self.url), redact(str(exc))
                    )
                self.connected = False
                with self._cv:
                    self._buf.extendleft(reversed(batch))
                    while len(self._buf) > self.cfg.buffer:
                        self._buf.popleft()
                        self.dropped += 1
                        self.metrics.publish_dropped.inc()
                delay = min(self._backoff[1], self._backoff[0] * 2 ** min(failures - 1, 10))
                with self._cv:
                    if self._closing and self._give_up_at is not None and time.monotonic() > self._give_up_at:
                        return
                    self._cv.wait(delay)
                continue
            if not self.connected:
                if failures:
                    log.info("redis %s reachable again", redact(self.url))
                self.connected = True
            failures = 0
            self.metrics.redis_up.set(1)
            now = time.time()
            self.metrics.stage_seconds.labels("publish").observe(time.perf_counter() - t0)
            for ev in batch:
                lat = max(0.0, now - ev.wall)
                self.metrics.frame_to_publish.labels(ev.camera).observe(lat)
                if self.latencies is not None:
                    self.latencies.append(lat)
            with self._cv:
                self.metrics.publish_buffered.set(len(self._buf))
            self.published += len(batch)
            self.metrics.published.inc(len(batch))

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is buffered (trying for up to ``timeout`` seconds if Redis is down), then end."""
        with self._cv:
            self._closing = True
            self._give_up_at = time.monotonic() + timeout
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout + 6)
        self._client.close()

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False
