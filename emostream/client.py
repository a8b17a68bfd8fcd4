"""Reading emostream events at scale: a Redis Streams consumer-group reader, used by ``emostream tail``.

Every daemon XADDs its events to one stream (``emostream:events``, fields ``event`` = the JSON,
``type``, ``camera``). A dashboard or any other service reads them through a *consumer group*: each
entry goes to exactly one consumer of the group, so several replicas of a service share the load,
and every group (``dashboard``, ``archiver``, ...) independently gets every event::

    from emostream.client import EventConsumer

    consumer = EventConsumer("redis://redis:6379/0", group="dashboard")
    for msg in consumer.messages():          # blocks; waits out Redis outages after the start
        print(msg.camera, msg.type, msg.event.get("emotion"))
        # the message is XACKed when the loop asks for the next one: a crash in this body means
        # the entry stays pending and is delivered again (at least once; de-duplicate on msg.event["id"])

The group is created (with MKSTREAM) when missing, at the end of the stream by default
(``start="0"`` reads the whole retained history first). Entries a consumer took but never acked
(it crashed, or was scaled away) are taken over with XAUTOCLAIM once idle for ``claim_idle_ms``,
so a restarted or surviving replica finishes them. Entries trimmed by ``MAXLEN`` while pending are
acked and skipped.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from emostream.keys import CLIENT_GROUP, STREAM, TAIL_GROUP
from emostream.redact import redact
from emostream.retry import backoff_delay

log = logging.getLogger("emostream.client")
DEFAULT_STREAM = STREAM  # kept: the README and users import it from here


@dataclass(frozen=True)
class Message:
    """One stream entry: its stream id, the decoded event, and the ``type``/``camera`` fields."""

    id: str
    event: dict[str, Any]
    type: str
    camera: str


def connect(url: str, cluster: bool = False) -> redis.Redis:
    """A client with string replies; ``cluster=True`` speaks the Redis Cluster protocol (one stream
    key lives in one hash slot, so any cluster node routes the group's commands to it)."""
    if cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, decode_responses=True)  # type: ignore[return-value]
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


class EventConsumer:
    """XREADGROUP + XACK reader of one stream for one consumer of one group."""

    def __init__(
        self,
        client: redis.Redis | str,
        stream: str = DEFAULT_STREAM,
        group: str = CLIENT_GROUP,
        consumer: str | None = None,
        *,
        start: str = "$",
        count: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
    ) -> None:
        self.client = connect(client) if isinstance(client, str) else client
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.start = start
        self.count = count
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self._group_ready = False
        self._own_pending_done = False
        self._next_claim = 0.0

    def ensure_group(self) -> bool:
        """Create the group (and the stream) if missing; True if this call created it."""
        try:
            self.client.xgroup_create(self.stream, self.group, id=self.start, mkstream=True)
            created = True
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            created = False
        self._group_ready = True
        return created

    def _decode(self, entries: list[Any]) -> list[Message]:
        out: list[Message] = []
        skip: list[str] = []
        for entry_id, fields in entries:
            if entry_id is None:
                continue
            try:
                event = json.loads(fields["event"]) if fields else None
            except (KeyError, TypeError, ValueError):
                event = None
            if not isinstance(event, dict):  # trimmed while pending, or not an emostream entry
                log.warning("stream entry %s has no readable event; acknowledged and skipped", entry_id)
                skip.append(entry_id)
                continue
            out.append(
                Message(
                    entry_id,
                    event,
                    str(fields.get("type", event.get("type", ""))),
                    str(fields.get("camera", event.get("camera", ""))),
                )
            )
        if skip:
            self.ack(*skip)
        return out

    def _read(self, last_id: str, block_ms: int | None) -> list[Message]:
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: last_id}, count=self.count, block=block_ms
        )
        entries = [e for _stream, batch in (reply or []) for e in batch]
        return self._decode(entries)

    def own_pending(self) -> list[Message]:
        """Entries delivered to this consumer name earlier but never acked (e.g. before a restart)."""
        return self._read("0", None)

    def claim_stale(self) -> list[Message]:
        """Take over entries any consumer of the group has left unacked for ``claim_idle_ms``."""
        out: list[Message] = []
        cursor = "0-0"
        while len(out) < self.count:
            reply = self.client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                self.claim_idle_ms,
                start_id=cursor,
                count=self.count,
            )
            cursor, entries = reply[0], reply[1]
            out += self._decode(entries)
            if cursor in ("0-0", b"0-0"):
                break
        return out

    def poll(self, block_ms: int | None = None) -> list[Message]:
        """The next batch: own pending entries first, then stale ones of others, then new ones."""
        if not self._group_ready:
            self.ensure_group()
        if not self._own_pending_done:
            batch = self.own_pending()
            if batch:
                return batch
            self._own_pending_done = True
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + max(self.claim_idle_ms / 1000.0 / 2.0, 1.0)
            batch = self.claim_stale()
            if batch:
                return batch
        return self._read(">", self.block_ms if block_ms is None else block_ms)

    def ack(self, *ids: str) -> int:
        """XACK entries of this group; returns how many were pending."""
        return int(self.client.xack(self.stream, self.group, *ids)) if ids else 0

    def messages(self, limit: int | None = None, seconds: float | None = None) -> Iterator[Message]:
        """Yield messages forever (or until ``limit`` messages / ``seconds``), each acked once the
        caller asks for the next one, so a message whose handling raised stays pending."""
        deadline = None if seconds is None else time.monotonic() + seconds
        done = 0
        failures = 0
        if not self._group_ready:
            self.ensure_group()  # an unreachable Redis at the start is an error for the caller
        while limit is None or done < limit:
            block = self.block_ms
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                block = max(1, min(block, int(left * 1000)))
            try:
                batch = self.poll(block)
                for msg in batch:
                    yield msg
                    self.ack(msg.id)
                    done += 1
                    if limit is not None and done >= limit:
                        return
                failures = 0
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # Later outages are waited out; what was delivered but not acked is read again first.
                failures += 1
                delay = backoff_delay(failures, 0.5, 5.0)
                log.warning("redis unreachable (%s); retrying in %.1f s", type(exc).__name__, delay)
                self._own_pending_done = False
                time.sleep(delay)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning(
                    "consumer group %s or stream %s is gone; creating it again", self.group, self.stream
                )
                self._group_ready = False


def format_event(msg: Message) -> str:
    """One human-readable line for ``emostream tail``."""
    ev = msg.event
    text = f"{ev.get('time', '-')} {msg.camera:<16} track {ev.get('track', '-')!s:<4} {msg.type:<16}"
    if ev.get("emotion") is not None:
        text += f" {ev['emotion']}"
        if isinstance(ev.get("confidence"), int | float):
            text += f" ({ev['confidence']:.2f})"
    if ev.get("previous"):
        text += f" <- {ev['previous']}"
    if msg.type.endswith((".lost", ".stopped")) and ev.get("dwell") is not None:
        text += f" after {ev['dwell']}s"
    return text


def tail(
    consumer: EventConsumer,
    as_json: bool = False,
    cameras: set[str] | None = None,
    limit: int | None = None,
    seconds: float | None = None,
) -> int:
    """Print events (one line each, or the event JSON with ``as_json``); returns how many were printed.

    Entries of other cameras are acked too: a ``--camera`` filter is a view, and the group's other
    consumers would not see them either way.
    """
    printed = 0
    for msg in consumer.messages(seconds=seconds):
        if cameras and msg.camera not in cameras:
            continue
        line = json.dumps(msg.event, separators=(",", ":"), sort_keys=True) if as_json else format_event(msg)
        print(line, flush=True)
        printed += 1
        if limit is not None and printed >= limit:
            consumer.ack(msg.id)  # the generator is left here, before it acks this one itself
            break
    return printed


def tail_command(
    url: str,
    cluster: bool = False,
    stream: str = DEFAULT_STREAM,
    group: str = TAIL_GROUP,
    consumer: str | None = None,
    from_start: bool = False,
    claim_idle: float = 60.0,
    as_json: bool = False,
    cameras: set[str] | None = None,
    count: int | None = None,
    seconds: float | None = None,
) -> int:
    """``emostream tail``: follow the stream as one consumer of ``group``; exit status 1 on a Redis error."""
    try:
        reader = EventConsumer(
            connect(url, cluster=cluster),
            stream,
            group,
            consumer,
            start="0" if from_start else "$",
            claim_idle_ms=int(claim_idle * 1000),
        )
        tail(reader, as_json, cameras, count, seconds)
    except redis.RedisError as exc:
        print(f"emostream: redis {redact(url)}: {redact(str(exc))}", file=sys.stderr)
        return 1
    return 0
