"""Publishes events to Redis: XADD to one stream (approximate MAXLEN) and PUBLISH per camera.

The pipeline hands events to :meth:`Publisher.submit`, which never blocks: events wait in a bounded
in-memory buffer that one background thread writes to Redis in pipelined batches. While Redis is
unreachable the thread moves them to an on-disk :class:`~emostream.sinks.spool.Spool` (when one
is configured; a disk that refuses them leaves them in memory) and replays them in order, with their
ids, once Redis answers; what is still spooled at shutdown is replayed by the next start. After a
failed write the next attempt looks at the stream's tail first: a batch is never written twice.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence

import redis

from emostream.config import RedisConfig
from emostream.errors import SpoolFull
from emostream.keys import channel
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.retry import backoff_delay
from emostream.sinks.events import encode, from_record, to_record
from emostream.sinks.spool import Spool
from emostream.types import Event, Frame, TrackedFace

__all__ = ["Publisher", "connect"]

log = logging.getLogger("emostream.publish")
BATCH = 256
TAIL_CHECK = 2000  # stream entries inspected for duplicates after a failed write
IDLE_PING = 5.0  # seconds without events after which Redis is pinged
SPOOL_CHUNK = 64  # events per spool append (one fsync each)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (redis://, rediss:// or unix://; AUTH and TLS options come from the URL)."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


class Publisher:
    """Background writer of events to Redis; thread-safe :meth:`submit`, graceful :meth:`stop`."""

    def __init__(
        self,
        url: str,
        cfg: RedisConfig,
        metrics: Metrics,
        backoff: tuple[float, float] = (0.2, 5.0),
        spool: Spool | None = None,
    ) -> None:
        self.url = url
        self.cfg = cfg
        self.metrics = metrics
        self.spool = spool
        self.published = 0
        self.dropped = 0
        self.corrupt = 0  # damaged spool records skipped
        self._spool_failing = False
        self.connected = False
        self.latencies: list[float] | None = None  # frame-to-publish seconds, kept only when a benchmark asks
        self._client = connect(url)
        self._buf: collections.deque[Event] = collections.deque()
        self._cv = threading.Condition()
        self._closing = False
        self._give_up_at: float | None = None
        self._backoff = backoff
        self._suspect = False  # the last write failed: it may have been applied in part
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        if spool is not None and len(spool):
            log.info(
                "spool %s holds %d events from an earlier run: replaying them first", spool.dir, len(spool)
            )
            self._suspect = True
        self._update_gauges()

    @property
    def pending(self) -> int:
        with self._cv:
            return len(self._buf) + (len(self.spool) if self.spool is not None else 0)

    def start(self) -> None:
        self._thread.start()

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        """The :class:`~emostream.sinks.Sink` entry point: queue ``events``, never blocking."""
        for ev in events:
            self.submit(ev)

    def close(self) -> None:
        self.stop()

    def submit(self, event: Event) -> None:
        with self._cv:
            if len(self._buf) >= self.cfg.buffer:
                self._buf.popleft()
                self._count_dropped(1, "in-memory publish buffer full")
            self._buf.append(event)
            self.metrics.publish_buffered.set(len(self._buf))
            self._cv.notify()

    def _count_dropped(self, n: int, why: str) -> None:
        self.dropped += n
        self.metrics.publish_dropped.inc(n)
        log.warning("%s: dropped %d events (%d so far)", why, n, self.dropped)

    def _update_gauges(self) -> None:
        self.metrics.publish_buffered.set(len(self._buf))
        if self.spool is not None:
            self.metrics.spool_events.set(len(self.spool))

    # -- writing -----------------------------------------------------------------------------------------
    def _already_written(self, batch: list[Event]) -> set[str]:
        entries = self._client.xrevrange(self.cfg.stream, count=max(TAIL_CHECK, 4 * len(batch)))
        return {f[b"id"].decode() for _, f in entries if b"id" in f}

    def _write(self, batch: list[Event]) -> None:
        if self._suspect:
            seen = self._already_written(batch)
            batch = [ev for ev in batch if ev.payload["id"] not in seen]
        pipe = self._client.pipeline(transaction=False)
        for ev in batch:
            data = encode(ev)
            fields = {"event": data, "type": ev.type, "camera": ev.camera, "id": ev.payload["id"]}
            pipe.xadd(self.cfg.stream, fields, maxlen=self.cfg.maxlen, approximate=True)
            pipe.publish(channel(ev.camera, self.cfg.channel_prefix), data)
        pipe.execute()
        self._suspect = False

    def _requeue(self, events: list[Event]) -> None:
        """Put ``events`` back at the front of the memory buffer (they are older than what is there)."""
        with self._cv:
            self._buf.extendleft(reversed(events))
            while len(self._buf) > self.cfg.buffer:
                self._buf.popleft()
                self._count_dropped(1, "in-memory publish buffer full")

    def _spool_memory(self) -> None:
        """Move everything buffered in memory to the end of the spool (keeps the order). A disk that
        refuses it (full, read-only) leaves the events in memory, bounded, until it takes them again."""
        assert self.spool is not None
        with self._cv:
            moved = list(self._buf)
            self._buf.clear()
        if not moved:
            return
        before = self.spool.dropped
        try:
            for i in range(0, len(moved), SPOOL_CHUNK):  # in chunks: on a nearly full disk, what fits goes
                self.spool.append([to_record(ev) for ev in moved[i : i + SPOOL_CHUNK]])
        except SpoolFull as exc:
            self._requeue(moved[i:])
            self.metrics.spool_write_errors.inc()
            if not self._spool_failing:
                log.warning("%s; holding %d events in memory until it takes them", exc, len(moved))
            self._spool_failing = True
            return
        if self._spool_failing:
            log.info("spool %s takes events again", self.spool.dir)
            self._spool_failing = False
        if self.spool.dropped > before:
            self._count_dropped(self.spool.dropped - before, f"spool {self.spool.dir} over its size cap")
        self._update_gauges()

    def _decode(self, record: bytes) -> Event | None:
        """A spooled record, or None (counted, logged) when it is damaged: the rest still replays."""
        try:
            return from_record(record)
        except (ValueError, KeyError, TypeError):
            self.corrupt += 1
            self.metrics.spool_corrupt.inc()
            log.warning("spool: skipped a damaged record (%d so far)", self.corrupt)
            return None

    def _next_batch(self) -> tuple[list[Event], int, bool]:
        """(events to write now, records they use up, whether they come from the spool)."""
        if self.spool is not None and (len(self.spool) or not self.connected):
            self._spool_memory()
            if len(self.spool):
                raw = self.spool.peek(BATCH)
                return [ev for r in raw if (ev := self._decode(r)) is not None], len(raw), True
        with self._cv:
            batch = [self._buf.popleft() for _ in range(min(BATCH, len(self._buf)))]
        return batch, len(batch), False

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cv:
                busy = self._cv.wait_for(
                    lambda: self._buf or self._closing or (self.spool is not None and len(self.spool)),
                    timeout=IDLE_PING,
                )
            if not busy:
                self._idle_ping()
                continue
            with self._cv:
                if self._closing and not self._buf and (self.spool is None or not len(self.spool)):
                    return
                if self._gave_up():
                    return
            batch, used, from_spool = self._next_batch()
            if not used:
                continue
            if not batch:  # only damaged records: past them
                assert self.spool is not None
                self.spool.commit(used)
                continue
            t0 = time.perf_counter()
            try:
                self._write(batch)
            except redis.RedisError as exc:
                failures += 1
                self._suspect = True
                self.metrics.publish_errors.inc()
                self.metrics.redis_up.set(0)
                if self.connected or failures == 1:
                    log.warning(
                        "redis %s unavailable: %s; holding events", redact(self.url), redact(str(exc))
                    )
                self.connected = False
                if not from_spool:
                    self._requeue(batch)
                if self.spool is not None:
                    self._spool_memory()
                delay = backoff_delay(failures, *self._backoff)
                with self._cv:
                    if self._gave_up():
                        return
                    self._cv.wait(delay)
                continue
            if from_spool:
                assert self.spool is not None
                self.spool.commit(used)
            if not self.connected and failures:
                log.info("redis %s reachable again", redact(self.url))
            self.connected = True
            failures = 0
            self._delivered(batch, time.perf_counter() - t0)

    def _gave_up(self) -> bool:
        """Stopping, and Redis did not take the rest within stop()'s timeout (call holding _cv)."""
        return self._closing and self._give_up_at is not None and time.monotonic() > self._give_up_at

    def _idle_ping(self) -> None:
        """With nothing to write for a while, ask Redis anyway, so redis_up and /readyz stay true to life."""
        alive = self.ping()
        self.metrics.redis_up.set(1 if alive else 0)
        if alive != self.connected:
            log.log(
                logging.INFO if alive else logging.WARNING,
                "redis %s %s",
                redact(self.url),
                "reachable" if alive else "unreachable (idle check)",
            )
        self.connected = alive

    def _delivered(self, batch: list[Event], seconds: float) -> None:
        self.metrics.redis_up.set(1)
        self.metrics.stage_seconds.labels("publish").observe(seconds)
        now = time.time()
        for ev in batch:
            lat = max(0.0, now - ev.wall)
            self.metrics.frame_to_publish.labels(ev.camera).observe(lat)
            if self.latencies is not None:
                self.latencies.append(lat)
        with self._cv:
            self._update_gauges()
        self.published += len(batch)
        self.metrics.published.inc(len(batch))

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is buffered (trying for up to ``timeout`` seconds if Redis is down), then end.

        Whatever Redis did not take by then stays in the spool for the next start.
        """
        with self._cv:
            self._closing = True
            self._give_up_at = time.monotonic() + timeout
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout + 6)
        if self.spool is not None:
            self._spool_memory()
            self.spool.close()
        if self._buf:  # Redis down and the disk refusing the spool: these cannot outlive us
            log.warning("%d events lost at shutdown: Redis and the spool both refused them", len(self._buf))
        self._client.close()

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False
