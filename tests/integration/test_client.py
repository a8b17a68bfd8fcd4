"""The consumer-group reader and ``emostream tail`` against a real redis-server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import redis

from emostream.analysis.debounce import Decision
from emostream.client import EventConsumer, format_event
from emostream.daemon.localredis import LocalRedis, free_port
from emostream.sinks.events import build_event, encode, schema

STREAM = "emostream:events"
SCORES = {"angry": 0.02, "disgust": 0.0, "fear": 0.03, "happy": 0.81, "sad": 0.04, "surprise": 0.02}
SCORES["neutral"] = 0.08


def _xadd(client: redis.Redis, n: int, camera: str = "cam", start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        kind = ("appeared", "changed", "lost")[i % 3]
        previous = "neutral" if kind == "changed" else None
        lost = {"dwell": 2.0, "shares": {"happy": 1.0}} if kind == "lost" else {}
        d = Decision(kind, i, i * 0.5, "happy", previous, 0.81, SCORES, **lost)  # type: ignore[arg-type]
        ev = build_event(camera, "face", d, time.time())
        ids.append(client.xadd(STREAM, {"event": encode(ev), "type": ev.type, "camera": camera}))
    return ids


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _pending(client: redis.Redis, group: str) -> int:
    return int(client.xpending(STREAM, group)["pending"])


def test_group_is_created_and_every_message_acked(redis_client: redis.Redis) -> None:
    consumer = EventConsumer(redis_client, group="dash", consumer="a", block_ms=100)
    assert consumer.ensure_group() is True and redis_client.exists(STREAM)  # MKSTREAM
    assert consumer.ensure_group() is False  # BUSYGROUP is not an error
    ids = _xadd(redis_client, 5)
    got = list(consumer.messages(limit=5, seconds=10))
    assert [m.id for m in got] == ids
    assert got[1].type == "emotion.changed" and got[1].camera == "cam" and got[1].event["emotion"] == "happy"
    assert _pending(redis_client, "dash") == 0
    assert list(consumer.messages(seconds=0.3)) == []


def test_two_groups_each_get_everything_and_consumers_share(redis_client: redis.Redis) -> None:
    a = EventConsumer(redis_client, group="dash", consumer="a", start="0", count=3, block_ms=50)
    b = EventConsumer(redis_client, group="dash", consumer="b", start="0", count=3, block_ms=50)
    other = EventConsumer(redis_client, group="archive", consumer="x", start="0", block_ms=50)
    ids = _xadd(redis_client, 10)
    seen: list[str] = []
    for _ in range(6):
        seen += [m.id for m in a.messages(limit=3, seconds=0.2)]
        seen += [m.id for m in b.messages(limit=3, seconds=0.2)]
    assert sorted(seen) == sorted(ids)  # each entry to exactly one consumer of the group
    assert {m.id for m in other.messages(limit=10, seconds=5)} == set(ids)


def test_crashed_consumer_entries_are_claimed(redis_client: redis.Redis) -> None:
    dead = EventConsumer(redis_client, group="dash", consumer="dead", start="0", block_ms=50)
    ids = _xadd(redis_client, 4)
    assert [m.id for m in dead.poll()] == ids  # delivered, never acked: the process "crashed"
    assert _pending(redis_client, "dash") == 4
    alive = EventConsumer(redis_client, group="dash", consumer="alive", claim_idle_ms=200, block_ms=50)
    assert list(alive.messages(seconds=0.1)) == []  # not idle long enough yet
    time.sleep(0.3)
    alive._next_claim = 0.0
    assert [m.id for m in alive.messages(limit=4, seconds=5)] == ids
    assert _pending(redis_client, "dash") == 0


def test_restart_with_same_name_resumes_own_pending_and_skips_trimmed(redis_client: redis.Redis) -> None:
    first = EventConsumer(redis_client, group="dash", consumer="web-1", start="0", block_ms=50)
    ids = _xadd(redis_client, 3)
    assert len(first.poll()) == 3
    redis_client.xdel(STREAM, ids[0])  # trimmed (e.g. MAXLEN) while pending
    again = EventConsumer(redis_client, group="dash", consumer="web-1", block_ms=50)
    assert [m.id for m in again.messages(limit=2, seconds=5)] == ids[1:]
    assert _pending(redis_client, "dash") == 0


def test_failing_handler_leaves_the_message_pending(redis_client: redis.Redis) -> None:
    consumer = EventConsumer(redis_client, group="dash", consumer="a", start="0", block_ms=50)
    _xadd(redis_client, 2)
    try:
        for _msg in consumer.messages():
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass
    assert _pending(redis_client, "dash") == 2  # the failed one and the unread rest of its batch


def test_format_event_line() -> None:
    d = Decision("changed", 3, 1.0, "happy", "neutral", 0.81, SCORES)
    ev = build_event("entrance", "face", d, 1_700_000_000.0)
    from emostream.client import Message

    line = format_event(Message("1-0", ev.payload, ev.type, "entrance"))
    assert line.startswith("2023-11-14T22:13:20.000Z entrance")
    assert "emotion.changed" in line and "happy (0.81) <- neutral" in line


def test_tail_cli_prints_json_lines(redis_server: LocalRedis, redis_client: redis.Redis) -> None:
    _xadd(redis_client, 4, camera="door")
    _xadd(redis_client, 2, camera="hall", start=4)
    base = [sys.executable, "-m", "emostream", "tail", "--redis-url", redis_server.url, "--from-start"]
    res = subprocess.run(
        [*base, "--json", "--camera", "hall", "--count", "2", "--seconds", "20"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert [e["camera"] for e in events] == ["hall", "hall"]
    for ev in events:
        jsonschema.Draft202012Validator(schema()).validate(ev)
    res = subprocess.run(
        [*base, "--group", "humans", "--seconds", "1.5"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 6 and "door" in lines[0] and "face.appeared" in lines[0]
    bad = subprocess.run(
        [*base[:4], "--redis-url", "redis://user:secret@127.0.0.1:9/0", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "secret" not in bad.stderr and bad.stderr.startswith("emostream: redis")


def test_redis_cluster_node(tmp_path: Path) -> None:
    """A one-node Redis Cluster (all 16384 slots on it): the stream's commands route through the
    cluster client, as they would to the slot owner of a managed cluster."""
    conf = tmp_path / "nodes.conf"
    port = next(p for p in iter(free_port, 0) if p < 55000 and _free(p + 10000))  # + its cluster bus port
    args = ("--cluster-enabled", "yes", "--cluster-config-file", str(conf))
    with LocalRedis(port, extra_args=args) as server:
        admin = redis.Redis.from_url(server.url)
        admin.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):
            assert time.monotonic() < deadline, "cluster did not become ok"
            time.sleep(0.1)
        admin.close()
        from emostream.client import connect

        client = connect(server.url.rsplit("/", 1)[0], cluster=True)
        ids = _xadd(client, 3)
        consumer = EventConsumer(client, group="dash", consumer="a", start="0", block_ms=50)
        assert [m.id for m in consumer.messages(limit=3, seconds=5)] == ids
        assert _pending(client, "dash") == 0
        client.close()


def test_consumer_waits_out_a_redis_restart() -> None:
    """Redis goes away and comes back empty on the same port: the reader retries, re-creates its group
    and goes on with the new entries."""
    first = LocalRedis().start()
    client = redis.Redis.from_url(first.url, decode_responses=True)
    consumer = EventConsumer(client, group="dash", consumer="a", start="0", block_ms=50)
    _xadd(client, 1)
    stream = consumer.messages(seconds=30)
    assert next(stream).camera == "cam"
    first.cleanup()
    second = LocalRedis(port=first.port).start()
    try:
        ids = _xadd(redis.Redis.from_url(second.url, decode_responses=True), 2, camera="after")
        got = [next(stream), next(stream)]
        assert [m.id for m in got] == ids and got[0].camera == "after"
    finally:
        stream.close()
        client.close()
        second.cleanup()
