"""The daemon end to end, as a subprocess: real models, real clips, real Redis, real metrics endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import redis
from conftest import RtspServer, looping_cameras, stopped_summary

from emostream.daemon.localredis import LocalRedis, free_port
from emostream.sinks.events import schema


def _daemon(*args: str, env: dict[str, str] | None = None, group: bool = False) -> subprocess.Popen[str]:
    """``group``: the daemon leads a process group of its own, as a shell job does."""
    return subprocess.Popen(
        [sys.executable, "-m", "emostream", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=group,
    )


@pytest.mark.shared
def test_files_to_events_in_redis(
    media: list[Path], redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    """Every clip through the daemon; a subscriber reads the events back and checks them."""
    args = ["run", "--redis-url", redis_server.url]
    for clip in media:
        args += ["--source", str(clip)]
    proc = _daemon(*args)
    _out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    summary = stopped_summary(err)
    entries = redis_client.xrange("emostream:events")
    events = [json.loads(f["event"]) for _, f in entries]
    assert summary["published"] == len(events) > 0
    validator = jsonschema.Draft202012Validator(schema())
    for ev in events:
        validator.validate(ev)
    assert len({e["id"] for e in events}) == len(events)
    cams = {e["camera"] for e in events}
    assert {p.stem for p in media} >= cams and len(cams) >= 4
    by_track: dict[tuple[str, int], list[str]] = {}
    for e in events:
        by_track.setdefault((e["camera"], e["track"]), []).append(e["type"])
    for types in by_track.values():  # every track opens once and closes once (the files end)
        assert types[0] == "face.appeared" and types[-1] == "face.lost" and types.count("face.lost") == 1
    assert any(e["type"] == "emotion.changed" for e in events)
    assert summary["frames_dropped"] == 0 and summary["pending"] == 0


@pytest.mark.shared
def test_replay_gives_the_same_events(media: list[Path]) -> None:
    """Debouncing runs on media time: two runs over a file give identical events (ids and wall time aside)."""
    clip = next(p for p in media if "walking-and-pause" in p.name)
    runs = []
    for _ in range(2):
        with LocalRedis() as server:
            proc = _daemon("run", "--redis-url", server.url, "--source", str(clip))
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            client = redis.Redis.from_url(server.url, decode_responses=True)
            evs = [json.loads(f["event"]) for _, f in client.xrange("emostream:events")]
            runs.append([{k: v for k, v in e.items() if k not in ("id", "time")} for e in evs])
            client.close()
    assert runs[0] == runs[1] and len(runs[0]) > 3


@pytest.mark.shared
def test_sigterm_drains_and_reports_metrics(
    media: list[Path], tmp_path: Path, redis_server: LocalRedis
) -> None:
    """Looping cameras until SIGTERM; metrics and health while running; exit 0 with published=N."""
    port = free_port()
    cfg = tmp_path / "c.yaml"
    cams = looping_cameras(media[:3])
    cams += "  - {id: broken, url: 'rtsp://admin:topsecret@127.0.0.1:9/x', fps: 5}\n"
    cfg.write_text(f"cameras:\n{cams}metrics: {{port: {port}}}\nredis: {{url: '{redis_server.url}'}}\n")
    proc = _daemon("run", str(cfg))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(base + "/metrics", timeout=2).read().decode()
            if (
                'emostream_faces_total{camera="cam0"}' in text
                and "emostream_events_published_total 0.0" not in text
            ):
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert urllib.request.urlopen(base + "/healthz", timeout=2).status == 200
    ready = json.loads(urllib.request.urlopen(base + "/readyz", timeout=2).read())
    assert ready["ready"] is True and ready["redis"] is True
    for name in [
        "emostream_frames_captured_total",
        "emostream_frames_analysed_total",
        "emostream_frames_dropped_total",
        "emostream_queue_depth",
        "emostream_stage_seconds_bucket",
        "emostream_frame_to_publish_seconds_bucket",
        "emostream_faces_total",
        "emostream_events_total",
        "emostream_source_up",
        "emostream_source_reconnects_total",
        "emostream_publish_errors_total",
        'stage="decode"',
        'stage="detect"',
        'stage="classify"',
        'stage="publish"',
    ]:
        assert name in text, name
    assert 'emostream_source_up{camera="cam0"} 1.0' in text
    assert 'emostream_source_up{camera="broken"} 0.0' in text
    assert "topsecret" not in text
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 < 8
    assert "topsecret" not in err and "rtsp://***@127.0.0.1:9/x" in err
    summary = stopped_summary(err)
    client = redis.Redis.from_url(redis_server.url)
    assert summary["published"] == client.xlen("emostream:events") > 0 and summary["pending"] == 0
    client.close()


@pytest.mark.shared
def test_ctrl_c_to_the_group_keeps_the_private_redis_until_drained(media: list[Path], tmp_path: Path) -> None:
    """Ctrl-C signals every process of the terminal's group: the private redis-server must outlive the
    daemon's drain (the face.lost events of every open track), not die with the signal."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"cameras:\n{looping_cameras(media)}metrics: {{port: {free_port()}}}\n")
    proc = _daemon("run", str(cfg), group=True)
    time.sleep(8)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = stopped_summary(err)
    assert summary["events"] > 0 and summary["pending"] == 0
    assert summary["published"] == summary["events"], summary


@pytest.mark.shared
def test_rtsp_camera_end_to_end(rtsp_server: RtspServer, redis_server: LocalRedis) -> None:
    proc = _daemon("run", "--redis-url", redis_server.url, "--source", rtsp_server.url, "--seconds", "8")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = stopped_summary(err)
    assert summary["frames_analysed"] >= 20 and summary["faces"] > 0 and summary["published"] > 0


def test_missing_model_is_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"cameras: [{{id: a, url: x.gif}}]\nclassifier: {{model: '{tmp_path / 'nope.onnx'}'}}\n")
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 1
    assert res.stderr.strip() == f"emostream: model file not found: {tmp_path / 'nope.onnx'}"
    corrupt = tmp_path / "bad.onnx"
    corrupt.write_bytes(b"not an onnx model")
    cfg.write_text(f"cameras: [{{id: a, url: x.gif}}]\ndetector: {{model: '{corrupt}'}}\n")
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith(f"emostream: cannot load model {corrupt}")


def test_no_camera_is_a_config_error() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "run"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and res.stderr.startswith("emostream: config error: cameras:")


@pytest.mark.shared
def test_bench_json_counts_every_frame(media: list[Path]) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-male.gif")
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "bench", "--json", "--source", str(clip), "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["frames"] == 124 and out["faces"] >= 100 and out["fps"] > 0
    assert set(out["stage_ms"]) == {"decode", "detect", "classify", "track", "publish"}
    assert out["published"] == out["events"] > 0
    assert out["frame_to_publish_ms"]["p99"] >= out["frame_to_publish_ms"]["p50"] > 0


def test_ready_before_any_event(redis_server: LocalRedis) -> None:
    """A daemon whose cameras have produced nothing yet is ready as soon as Redis answers."""
    from emostream.config import parse
    from emostream.daemon.pipeline import Pipeline

    port = free_port()
    cfg = parse(
        {
            "cameras": [{"id": "down", "url": "rtsp://127.0.0.1:9/x"}],
            "redis": {"url": redis_server.url, "spool": False},
            "metrics": {"port": port},
        },
        env={},
    )
    pipe = Pipeline(cfg)
    pipe.start()
    try:
        ready = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).read())
        assert ready == {"ready": True, "redis": True, "sources": {"down": True}}
    finally:
        summary = pipe.stop()
    assert summary["published"] == 0


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_metrics_on_a_network_address_are_warned_about(tmp_path: Path, host: str, warned: bool) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"cameras: [{{id: a, url: '{tmp_path / 'none.mp4'}'}}]\nmetrics: {{host: '{host}', port: 0}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert ("without authentication" in proc.stderr) is warned, proc.stderr
