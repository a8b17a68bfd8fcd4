"""Camera sharding: the hash split, where the index comes from, and real pipelines splitting a fleet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emostream.config import ConfigError, ShardConfig, parse
from emostream.daemon import shard
from emostream.daemon.localredis import LocalRedis
from emostream.daemon.pipeline import Pipeline

IDS = [f"cam-{i:02d}" for i in range(20)]


def test_every_camera_falls_to_exactly_one_shard() -> None:
    for count in (1, 2, 3, 7):
        plan = shard.assignment(IDS, count)
        flat = [cid for ids in plan.values() for cid in ids]
        assert sorted(flat) == sorted(IDS) and len(flat) == len(set(flat))
        for index in range(count):
            cams = parse({"cameras": [{"id": c, "url": "x.mp4"} for c in IDS]}).cameras
            assert [c.id for c in shard.select(cams, index, count)] == plan[index]


def test_split_is_stable_balanced_and_moves_little_when_scaling() -> None:
    many = [f"store{i // 10}-cam{i % 10}" for i in range(3000)]
    three = {cid: shard.shard_of(cid, 3) for cid in many}
    assert three == {cid: shard.shard_of(cid, 3) for cid in reversed(many)}  # order-free, deterministic
    sizes = [list(three.values()).count(i) for i in range(3)]
    assert all(abs(s - 1000) < 150 for s in sizes), sizes
    four = {cid: shard.shard_of(cid, 4) for cid in many}
    moved = [cid for cid in many if four[cid] != three[cid]]
    assert all(four[cid] == 3 for cid in moved)  # only cameras the new shard takes move
    assert 0.18 < len(moved) / len(many) < 0.32


def test_index_from_config_env_or_hostname() -> None:
    env = {"EMOSTREAM_SHARD_INDEX": "2", "EMOSTREAM_SHARD_COUNT": "3"}
    assert parse({}, env=env).shard == ShardConfig(index=2, count=3)
    assert parse({"shard": {"count": 3}}, env={"EMOSTREAM_SHARD_INDEX": "1"}).shard.index == 1
    with pytest.raises(ConfigError, match=r"^shard: .*index 3 must be below count 3"):
        parse({"shard": {"index": 3, "count": 3}}, env={})
    assert shard.resolve(ShardConfig(count=3), hostname="emostream-2.emostream.video.svc") == (2, 3)
    assert shard.resolve(ShardConfig(count=1), hostname="laptop") == (0, 1)
    assert shard.resolve(ShardConfig(index=1, count=2), hostname="emostream-0") == (1, 2)
    with pytest.raises(ConfigError, match="no '-N' suffix"):
        shard.resolve(ShardConfig(count=3), hostname="laptop")
    with pytest.raises(ConfigError, match=r"ordinal 3 is not below shard\.count 3"):
        shard.resolve(ShardConfig(count=3), hostname="emostream-3")


def test_check_config_reports_bad_shard(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cameras: [{id: a, url: x.mp4}]\nshard: {index: 4, count: 2}\n")
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "check-config", str(cfg)], capture_output=True, text=True
    )
    assert res.returncode == 2 and res.stderr.startswith("emostream: config error: shard:")


@pytest.mark.shared
def test_three_pipelines_split_a_20_camera_fleet(media: list[Path], redis_server: LocalRedis) -> None:
    """count 3: each of the 20 cameras is decoded and analysed by exactly one of three real pipelines."""
    clip = next(p for p in media if p.name == "head-pose-face-detection-female.gif")
    cams = [{"id": c, "url": str(clip), "fps": 0} for c in IDS]
    base = {"cameras": cams, "redis": {"url": redis_server.url}, "metrics": {"enabled": False}}
    models = None
    analysed: dict[str, list[int]] = {c: [] for c in IDS}
    for index in range(3):
        cfg = parse({**base, "shard": {"index": index, "count": 3}}, env={})
        pipe = Pipeline(cfg, models=models)
        models = (pipe.detector, pipe.classifier)
        pipe.start()
        assert pipe.wait(60)
        pipe.stop()
        for cid in IDS:
            value = pipe.metrics.registry.get_sample_value("emostream_frames_analysed_total", {"camera": cid})
            if value:
                analysed[cid].append(index)
                assert value == 23  # every frame of the clip
        assert sorted(pipe.cameras) == sorted(shard.assignment(IDS, 3)[index])
    assert all(len(shards) == 1 for shards in analysed.values()), analysed


def test_empty_shard_idles_until_stopped(redis_server: LocalRedis) -> None:
    ids = ["only-camera"]
    empty = next(i for i in range(4) if not shard.assignment(ids, 4)[i])
    cfg = parse(
        {
            "cameras": [{"id": "only-camera", "url": "missing.mp4"}],
            "redis": {"url": redis_server.url},
            "metrics": {"enabled": False},
            "shard": {"index": empty, "count": 4},
        },
        env={},
    )
    pipe = Pipeline(cfg)
    pipe.start()
    assert pipe.cameras == {} and pipe.wait(0.3) is False  # stays up (ready) instead of exiting
    assert pipe.stop()["cameras"] == 0


def test_daemon_on_an_empty_shard_stays_ready_until_sigterm(tmp_path: Path, redis_server: LocalRedis) -> None:
    import json
    import os
    import signal
    import time
    import urllib.error
    import urllib.request

    from emostream.daemon.localredis import free_port

    empty = next(i for i in range(4) if not shard.assignment(["only-camera"], 4)[i])
    port = free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"cameras: [{{id: only-camera, url: missing.mp4}}]\nredis: {{url: '{redis_server.url}'}}\n"
        f"metrics: {{port: {port}}}\n"
    )
    env = {**os.environ, "EMOSTREAM_SHARD_INDEX": str(empty), "EMOSTREAM_SHARD_COUNT": "4"}
    env["EMOSTREAM_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.Popen(
        [sys.executable, "-m", "emostream", "run", str(cfg)], stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 60
    ready = None
    while ready is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            ready = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).read())
        except urllib.error.HTTPError as exc:  # 503 until Redis took a first write: still serving
            ready = json.loads(exc.read())
        except OSError:
            time.sleep(0.3)
    assert ready is not None and ready["sources"] == {}, ready
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
    time.sleep(1.0)
    assert proc.poll() is None  # still up: an empty shard does not exit
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"shard {empty} of 4: 0 of 1 cameras" in err
