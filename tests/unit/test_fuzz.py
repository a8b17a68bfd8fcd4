"""Bad input never crashes anything: generated configs, damaged video bytes, odd frames.

Each case must end in a clear error of the documented type or a skipped item with a counter.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emostream.analysis.face.analyzer import CameraAnalyzer
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import build_detector
from emostream.config import CameraConfig, ConfigError, load, parse
from emostream.metrics import Metrics
from emostream.sources.queues import BoundedQueue, Closed, DropPolicy
from emostream.sources.video import VideoSource
from emostream.types import Frame

KEYS = [
    "cameras",
    "id",
    "url",
    "fps",
    "redis",
    "metrics",
    "port",
    "detector",
    "kind",
    "debounce",
    "enter",
    "loop",
    "realtime",
    "tracker",
    "max_gap",
    "snapshots",
    "shard",
    "count",
    "index",
    "spool_max_mb",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["0", "rtsp://u:p@h/x", "a.gif", "blazeface", "yunet"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_is_a_config_or_a_config_error(doc: object) -> None:
    try:
        parse(doc, env={})
    except ConfigError as exc:
        assert str(exc) and all(":" in line for line in str(exc).splitlines())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_file_is_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        load(p, env={})
    except ConfigError as exc:
        assert "\n" not in str(exc) or all(":" in ln for ln in str(exc).splitlines())
    except yaml.YAMLError:  # pragma: no cover - must never escape load()
        pytest.fail("a YAML error escaped load()")


def _drain(path: Path, timeout: float = 20.0) -> tuple[int, VideoSource]:
    metrics = Metrics()
    cam = CameraConfig(id="f", url=str(path), fps=0)
    q: BoundedQueue[Frame] = BoundedQueue(4, DropPolicy.BLOCK)
    src = VideoSource(cam, q, metrics, threading.Event())
    src.start()
    n = 0
    while True:
        try:
            if q.get(timeout) is not None:
                n += 1
        except Closed:
            break
    src.thread.join(5)
    assert not src.thread.is_alive()
    return n, src


@pytest.mark.shared
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_video_bytes_end_cleanly(media: list[Path], tmp_path: Path, data: st.DataObject) -> None:
    clip = data.draw(st.sampled_from(media))
    raw = bytearray(clip.read_bytes())
    cut = data.draw(st.integers(0, len(raw)))
    raw = raw[:cut]
    for pos in data.draw(st.lists(st.integers(0, max(0, len(raw) - 1)), max_size=30)):
        if raw:
            raw[pos] = data.draw(st.integers(0, 255))
    path = tmp_path / "damaged.gif"
    path.write_bytes(bytes(raw))
    n, src = _drain(path)
    assert n >= 0
    if src.error is not None:
        assert "\n" not in src.error and src.error.startswith(("cannot open file", "file "))


@pytest.fixture(scope="module")
def analyzer() -> CameraAnalyzer:
    cfg = parse({}, env={})
    return CameraAnalyzer("fuzz", cfg, build_detector(), FaceEmotionClassifier(), Metrics())


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((270, 0, 3), np.uint8),
        np.full((270, 480), 128, np.uint8),
        np.full((270, 480, 1), 128, np.uint8),
        np.full((270, 480, 4), 128, np.uint8),
        np.full((270, 480, 3), 40000, np.uint16),
        np.full((270, 480, 3), np.nan, np.float32),
        np.full((270, 480, 2), 7, np.uint8),
        np.zeros((3000, 4000, 3), np.uint8),
        np.random.default_rng(1).integers(0, 255, (3, 5000, 3), dtype=np.uint8),
    ],
    ids=[
        "0x0",
        "1x1",
        "0-wide",
        "gray",
        "gray1",
        "bgra",
        "16-bit",
        "nan-float",
        "2-channel",
        "huge",
        "sliver",
    ],
)
def test_odd_frames_give_no_faces_and_no_crash(analyzer: CameraAnalyzer, image: np.ndarray) -> None:
    before = analyzer.frames
    decisions = analyzer.process(Frame("fuzz", before, float(before), 0.0, image))
    assert analyzer.frames == before + 1
    assert all(d.kind in {"appeared", "changed", "lost"} for d in decisions)


@pytest.fixture(scope="module")
def speech_classifier():
    from emostream.analysis.voice.speech import SpeechClassifier

    return SpeechClassifier()


special = st.sampled_from([0.0, 1.0, -1.0, 1e9, -1e9, float("nan"), float("inf"), float("-inf"), 1e-30])
buffers = st.one_of(
    st.lists(st.one_of(st.floats(-2, 2, width=32), special), max_size=20_000).map(
        lambda v: np.asarray(v, np.float32)
    ),
    st.integers(0, 40_000).map(lambda n: np.zeros(n, np.float32)),
    st.integers(0, 20_000).map(lambda n: np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)),
    st.integers(1, 9_000).map(lambda n: np.full((n, 2), 0.3, np.float64)),  # stereo, wrong dtype
    st.integers(0, 5).map(lambda n: np.arange(n, dtype=np.int16)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(buffers, min_size=1, max_size=6))
def test_any_audio_buffers_are_windows_or_skips(speech_classifier, chunks: list[np.ndarray]) -> None:
    """Empty, NaN, inf, huge, clipped, stereo, integer buffers: a decision, a counted skip, never a crash."""
    from emostream.analysis.voice.analyzer import VoiceAnalyzer
    from emostream.config import AudioSourceConfig
    from emostream.types import AudioChunk

    src = AudioSourceConfig(id="fz", url="mic", window=1.0, hop=0.5)
    a = VoiceAnalyzer(src, parse({}, env={}), speech_classifier, Metrics())
    ts = 0.0
    for i, buf in enumerate(chunks):
        before = a.windows
        decisions = a.process(AudioChunk("fz", i, ts, 0.0, buf))
        ts += np.asarray(buf).size / 16_000
        assert a.windows >= before
        assert all(d.kind in {"appeared", "changed", "lost"} for d in decisions)
