"""The spool on a full disk (a real 64 KiB tmpfs) and with damaged records, against a real redis-server:
nothing crashes, nothing is lost that fits, and delivery resumes by itself."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from emostream.analysis.debounce import Decision
from emostream.config import RedisConfig
from emostream.daemon.localredis import LocalRedis, free_port
from emostream.metrics import Metrics
from emostream.sinks.events import build_event, to_record
from emostream.sinks.redis import Publisher
from emostream.sinks.spool import Spool

SCORES = {"happy": 0.7, "sad": 0.3}


def _events(n: int) -> list:
    d = Decision("changed", 1, 1.0, emotion="happy", previous="sad", confidence=0.7, scores=SCORES)
    return [build_event("cam", "face", d, time.time()) for _ in range(n)]


def _wait(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, mounted for the test (root only: skipped with the reason elsewhere)."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_holds_events_in_memory_and_resumes(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # Redis is down from the start: everything must go to the spool
    cfg = RedisConfig(url=f"redis://127.0.0.1:{port}/0", buffer=100_000)
    metrics = Metrics()
    pub = Publisher(cfg.url, cfg, metrics, backoff=(0.05, 0.2), spool=Spool(small_disk / "spool"))
    pub.start()
    sent = _events(400)  # ~150 KiB of records: more than the disk holds
    with caplog.at_level(logging.WARNING, logger="emostream.publish"):
        for ev in sent:
            pub.submit(ev)
        _wait(lambda: metrics.spool_write_errors._value.get() >= 1)
        time.sleep(0.5)  # several more rounds against the full disk
        assert pub._thread.is_alive() and pub.pending == 400 and pub.dropped == 0
        assert 0 < len(pub.spool) < 400  # what fitted is on disk, the rest waits in memory
    holding = [r for r in caplog.records if "holding" in r.getMessage() and "No space left" in r.getMessage()]
    assert len(holding) == 1  # logged once per outage, not once per retry
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)  # space returns
    _wait(lambda: len(pub.spool) == 400)
    server = LocalRedis(port=port).start()
    try:
        _wait(lambda: pub.published == 400)
        pub.stop()
        client = redis.Redis.from_url(server.url)
        ids = [json.loads(f[b"event"])["id"] for _, f in client.xrange(cfg.stream)]
        assert ids == [e.payload["id"] for e in sent]  # all, once, in order
        client.close()
    finally:
        server.cleanup()


def test_damaged_spool_records_are_skipped_and_the_rest_replays(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = Spool(folder)
    good = _events(15)
    spool.append([to_record(e) for e in good[:10]])
    spool.close()
    (segment,) = folder.glob("*.log")
    with segment.open("ab") as f:  # what a bad disk or an editor leaves: garbage and a cut record
        f.write(b"\x00\x17garbage\n" + to_record(good[0])[:40] + b"\n")
    spool = Spool(folder)
    spool.append([to_record(e) for e in good[10:]])
    assert len(spool) == 17
    with LocalRedis() as server:
        cfg = RedisConfig(url=server.url)
        metrics = Metrics()
        pub = Publisher(server.url, cfg, metrics, spool=spool)
        pub.start()
        _wait(lambda: pub.published == 15)
        pub.stop()
        assert pub.corrupt == 2 and metrics.spool_corrupt._value.get() == 2
        client = redis.Redis.from_url(server.url)
        ids = [json.loads(f[b"event"])["id"] for _, f in client.xrange(cfg.stream)]
        assert ids == [e.payload["id"] for e in good]
        client.close()
    assert len(Spool(folder)) == 0  # past the damage for good
