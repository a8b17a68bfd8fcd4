"""Events and publishing against a real redis-server: schema, stream, channel, outage and recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import redis

from emostream.analysis.debounce import Decision
from emostream.config import RedisConfig
from emostream.daemon.localredis import LocalRedis
from emostream.metrics import Metrics
from emostream.sinks.events import build_event, new_id, schema
from emostream.sinks.redis import Publisher

SCORES = {
    "angry": 0.1,
    "disgust": 0.0,
    "fear": 0.0,
    "happy": 0.7,
    "sad": 0.1,
    "surprise": 0.0,
    "neutral": 0.1,
}


def _events(n: int, camera: str = "cam1") -> list:
    kinds = [
        Decision("appeared", 1, 0.0, scores=SCORES),
        Decision("changed", 1, 1.0, emotion="happy", previous=None, confidence=0.7, scores=SCORES),
        Decision("lost", 1, 2.0, emotion="happy", dwell=2.0, shares=SCORES),
    ]
    return [build_event(camera, "face", kinds[i % 3], time.time()) for i in range(n)]


def test_events_match_the_shipped_schema() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    for ev in _events(3):
        validator.validate(ev.payload)
    assert {e.payload["type"] for e in _events(3)} == {"face.appeared", "emotion.changed", "face.lost"}


def test_ids_unique_and_time_ordered() -> None:
    ids = [new_id(1_700_000_000.0 + i / 1000) for i in range(2000)]
    assert len(set(ids)) == 2000 and ids == sorted(ids)


def _wait(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_xadd_and_publish(redis_server: LocalRedis, redis_client: redis.Redis) -> None:
    cfg = RedisConfig(url=redis_server.url, maxlen=1000)
    metrics = Metrics()
    sub = redis_client.pubsub()
    sub.subscribe(cfg.channel_prefix + "cam1")
    assert _wait(lambda: sub.get_message(timeout=0.1) is not None)  # subscribe confirmation
    pub = Publisher(redis_server.url, cfg, metrics)
    pub.start()
    sent = _events(30)
    for ev in sent:
        pub.submit(ev)
    assert _wait(lambda: pub.published == 30)
    pub.stop()
    entries = redis_client.xrange(cfg.stream)
    assert [json.loads(f["event"])["id"] for _, f in entries] == [e.payload["id"] for e in sent]
    assert entries[0][1]["camera"] == "cam1" and entries[0][1]["type"] == "face.appeared"
    got = []
    while (msg := sub.get_message(timeout=0.5)) is not None:
        got.append(json.loads(msg["data"])["id"])
    assert got == [e.payload["id"] for e in sent]
    assert metrics.registry.get_sample_value("emostream_events_published_total") == 30


def test_approximate_maxlen_bounds_the_stream(redis_server: LocalRedis, redis_client: redis.Redis) -> None:
    cfg = RedisConfig(url=redis_server.url, maxlen=100)
    pub = Publisher(redis_server.url, cfg, Metrics())
    pub.start()
    for ev in _events(2000):
        pub.submit(ev)
    assert _wait(lambda: pub.published == 2000)
    pub.stop()
    assert 100 <= redis_client.xlen(cfg.stream) < 400


def test_redis_outage_holds_events_and_delivers_them_after(redis_client: redis.Redis) -> None:
    server = LocalRedis().start()
    metrics = Metrics()
    cfg = RedisConfig(url=server.url)
    pub = Publisher(server.url, cfg, metrics, backoff=(0.05, 0.2))
    pub.start()
    first = _events(5)
    for ev in first:
        pub.submit(ev)
    assert _wait(lambda: pub.published == 5)
    server.stop()
    during = _events(40)
    for ev in during:
        pub.submit(ev)  # must not block while Redis is down
    assert _wait(lambda: metrics.registry.get_sample_value("emostream_publish_errors_total") >= 2)
    assert pub.published == 5 and pub.pending == 40
    assert metrics.registry.get_sample_value("emostream_redis_up") == 0
    server.start()
    assert _wait(lambda: pub.published == 45)
    pub.stop()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    ids = [json.loads(f["event"])["id"] for _, f in client.xrange(cfg.stream)]
    # The restarted server has no persistence: it holds exactly the events sent during the outage, in order.
    assert ids == [e.payload["id"] for e in during]
    assert pub.dropped == 0
    client.close()
    server.cleanup()


def test_full_buffer_drops_oldest_and_counts() -> None:
    metrics = Metrics()
    cfg = RedisConfig(url="redis://127.0.0.1:1/0", buffer=10)
    pub = Publisher(cfg.url, cfg, metrics, backoff=(0.05, 0.1))  # nothing listens on port 1
    pub.start()
    for ev in _events(25):
        pub.submit(ev)
    assert _wait(lambda: pub.dropped >= 15)
    assert metrics.registry.get_sample_value("emostream_publish_dropped_total") == pub.dropped
    pub.stop(timeout=0.3)
    assert pub.published == 0 and pub.pending + pub.dropped == 25


def test_auth_through_the_url() -> None:
    with LocalRedis(extra_args=("--requirepass", "s3cret-pw")) as server:
        url = f"redis://:s3cret-pw@127.0.0.1:{server.port}/0"
        pub = Publisher(url, RedisConfig(url=url), Metrics())
        pub.start()
        for ev in _events(3):
            pub.submit(ev)
        assert _wait(lambda: pub.published == 3)
        pub.stop()
        wrong = Publisher(
            f"redis://:nope@127.0.0.1:{server.port}/0", RedisConfig(), Metrics(), backoff=(0.05, 0.1)
        )
        wrong.start()
        wrong.submit(_events(1)[0])
        assert _wait(lambda: wrong.metrics.registry.get_sample_value("emostream_publish_errors_total") >= 1)
        wrong.stop(timeout=0.2)
        assert wrong.published == 0 and wrong.pending == 1


def test_idle_publisher_notices_redis_going_away(monkeypatch) -> None:
    import emostream.sinks.redis as publish

    monkeypatch.setattr(publish, "IDLE_PING", 0.1)
    server = LocalRedis().start()
    metrics = Metrics()
    pub = Publisher(server.url, RedisConfig(url=server.url), metrics)
    pub.start()
    assert _wait(lambda: metrics.registry.get_sample_value("emostream_redis_up") == 1)
    assert pub.connected and pub.published == 0
    server.stop()
    assert _wait(lambda: metrics.registry.get_sample_value("emostream_redis_up") == 0)
    assert not pub.connected
    server.start()
    assert _wait(lambda: pub.connected)
    pub.stop()
    server.cleanup()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_private_redis_dies_with_a_killed_daemon() -> None:
    """A daemon killed with SIGKILL cannot stop its private Redis: the kernel does (PDEATHSIG)."""
    code = (
        "from emostream.daemon.localredis import LocalRedis; import time; r = LocalRedis().start(); "
        "print(r._proc.pid, flush=True); time.sleep(120)"
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pid = int(owner.stdout.readline())
    assert _alive(pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not _alive(pid), "the private redis-server outlived its daemon"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
