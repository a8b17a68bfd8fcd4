"""Audio sources with real parts: WAV/FLAC files, a video file's AAC track, PulseAudio via PyAudio."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import RtspServer, drain
from speech_media import SR, mux_video, ravdess_clip, speech_track, write_wav

from emostream.analysis.voice.features import clip_windows, load_audio
from emostream.analysis.voice.vad import VoiceActivityDetector
from emostream.config import AudioSourceConfig, ConfigError, parse
from emostream.metrics import Metrics
from emostream.sources import queue_policy as policy_for
from emostream.sources.audio import CHUNK, AudioSource, audio_kind
from emostream.sources.queues import BoundedQueue, DropPolicy
from emostream.types import AudioChunk

REQUIRE = os.environ.get("EMOSTREAM_REQUIRE_SHARED") == "1"


def _read_all(url: str, timeout: float = 60.0, **kw: object) -> tuple[list[AudioChunk], AudioSource, Metrics]:
    src = AudioSourceConfig(id="a", url=url, **kw)
    q: BoundedQueue[AudioChunk] = BoundedQueue(src.queue_size, policy_for(src))
    m = Metrics()
    s = AudioSource(src, q, m, threading.Event())
    s.start()
    chunks = drain(q, timeout, poll=1.0)
    s.thread.join(5)
    return chunks, s, m


def _joined(chunks: list[AudioChunk]) -> np.ndarray:
    for a, b in itertools.pairwise(chunks):
        assert b.ts == pytest.approx(a.ts + len(a.samples) / SR), "media time must be contiguous"
    return np.concatenate([c.samples for c in chunks])


def test_kinds() -> None:
    assert [audio_kind(u) for u in ("mic", "MIC:2", "rtsp://h/x", "a.wav", "0")] == [
        "mic", "mic", "stream", "file", "file"
    ]  # fmt: skip
    assert policy_for(AudioSourceConfig(id="a", url="a.wav")) is DropPolicy.BLOCK
    assert policy_for(AudioSourceConfig(id="a", url="mic")) is DropPolicy.DROP_OLDEST


@pytest.mark.shared
@pytest.mark.parametrize(("rate", "channels"), [(44_100, 2), (8_000, 1), (16_000, 1)])
def test_wav_any_rate_and_layout_becomes_16k_mono(
    shared: Path, tmp_path: Path, rate: int, channels: int
) -> None:
    y = load_audio(ravdess_clip(shared, 19, 5, 4))
    wav = write_wav(tmp_path / "s.wav", y, rate, channels)
    chunks, src, _ = _read_all(str(wav))
    got = _joined(chunks)
    assert src.error is None and all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    assert abs(len(got) - len(y)) <= 0.01 * SR  # same duration within 10 ms
    rms = lambda a: float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))  # noqa: E731
    assert rms(got) == pytest.approx(rms(y), rel=0.1)
    assert VoiceActivityDetector()(clip_windows(got)[0]).speech


@pytest.mark.shared
def test_flac_and_video_audio_track(shared: Path, media: list[Path], tmp_path: Path) -> None:
    flac = ravdess_clip(shared, 20, 3)
    chunks, _, m = _read_all(str(flac))
    assert len(_joined(chunks)) == pytest.approx(sf.info(str(flac)).frames, abs=CHUNK)
    assert m.audio_chunks_captured.labels("a")._value.get() == len(chunks)
    y = speech_track(shared)
    mp4 = mux_video(tmp_path / "talk.mp4", media[0], write_wav(tmp_path / "t.wav", y))
    chunks, src, _ = _read_all(str(mp4))
    got = _joined(chunks)
    assert src.error is None
    assert abs(len(got) - len(y)) < 0.15 * SR  # AAC priming and padding: a few frames either way


@pytest.mark.shared
@pytest.mark.slow
def test_rtsp_audio_reconnects_after_server_restart(shared: Path, media: list[Path], tmp_path: Path) -> None:
    """A live audio stream that goes away is retried with backoff, shows down, and resumes when it returns."""
    mp4 = mux_video(tmp_path / "talk.mp4", media[0], write_wav(tmp_path / "t.wav", speech_track(shared)))
    server = RtspServer(mp4, audio=True).start()
    try:
        cfg = AudioSourceConfig(id="st", url=server.url, queue_size=200)
        q: BoundedQueue[AudioChunk] = BoundedQueue(cfg.queue_size, policy_for(cfg))
        m = Metrics()
        stop = threading.Event()
        src = AudioSource(cfg, q, m, stop, backoff=(0.2, 1.0))
        src.start()
        up = lambda: m.registry.get_sample_value("emostream_audio_source_up", {"source": "st"})  # noqa: E731

        before = drain(q, 3.0)
        assert sum(len(c.samples) for c in before) >= SR and up() == 1
        server.stop()
        deadline = time.monotonic() + 20
        while up() != 0:
            assert time.monotonic() < deadline, "audio source still up 20 s after the server died"
            drain(q, 0.1)
        server.start()
        deadline = time.monotonic() + 30
        after: list[AudioChunk] = []
        while sum(len(c.samples) for c in after) < SR:
            assert time.monotonic() < deadline, "no audio after the server came back"
            after.extend(drain(q, 0.5))
        assert up() == 1
        assert m.registry.get_sample_value("emostream_audio_reconnects_total", {"source": "st"}) >= 1
        assert after[0].ts > before[-1].ts, "media time keeps growing across reconnects"
        assert src.error and "\n" not in src.error and server.url in src.error, src.error  # one line
        stop.set()
        src.thread.join(10)
        assert not src.thread.is_alive()
    finally:
        server.stop()


@pytest.mark.shared
def test_loop_keeps_media_time_growing(shared: Path) -> None:
    src = AudioSourceConfig(id="a", url=str(ravdess_clip(shared, 20, 1)), loop=True)
    q: BoundedQueue[AudioChunk] = BoundedQueue(8, policy_for(src))
    stop = threading.Event()
    s = AudioSource(src, q, Metrics(), stop)
    s.start()
    chunks = [c for _ in range(120) if (c := q.get(timeout=5)) is not None]
    stop.set()
    s.thread.join(5)
    assert chunks[-1].ts > 8.0  # well past the 3.5 s clip: it looped
    assert all(b.ts > a.ts for a, b in itertools.pairwise(chunks))


def test_realtime_loop_keeps_to_the_clock(tmp_path: Path) -> None:
    """A looping audio file at its own pace stays on the wall clock across passes (each pass used to
    send its first chunk at once: 0.1 s ahead per pass, and away from its camera's frames)."""
    tone = (0.1 * np.sin(np.arange(int(0.6 * SR)) * 2 * np.pi * 220 / SR)).astype(np.float32)
    src = AudioSourceConfig(id="a", url=str(write_wav(tmp_path / "tone.wav", tone)), loop=True, realtime=True)
    q: BoundedQueue[AudioChunk] = BoundedQueue(src.queue_size, policy_for(src))
    stop = threading.Event()
    s = AudioSource(src, q, Metrics(), stop)
    s.start()
    chunks = drain(q, 2.8, poll=0.05)
    stop.set()
    s.thread.join(5)
    assert chunks[-1].ts > 3 * 0.6, "it looped three times"
    ahead = [(c.ts - chunks[0].ts) - (c.wall - chunks[0].wall) for c in chunks]
    assert max(ahead) < 0.05, [round(a, 3) for a in ahead]


@pytest.mark.shared
def test_bad_files_are_one_clear_error(media: list[Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, np.float32), SR)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 10)
    cases = {
        str(media[0]): "no audio track",
        str(empty): "no audio",
        str(junk): "cannot open",
        str(tmp_path / "missing.flac"): "no such file",
    }
    for url, message in cases.items():
        chunks, src, m = _read_all(url, timeout=20)
        assert chunks == [] and src.error is not None and message in src.error, (url, src.error)
        assert m.audio_source_errors.labels("a")._value.get() == 1
        assert not src.thread.is_alive()


# --- a real audio device: PulseAudio's null sink, recorded through PyAudio (PortAudio → ALSA → pulse) ---


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private PulseAudio daemon with a null sink ``emo`` whose monitor is the default source."""
    missing = [exe for exe in ("pulseaudio", "paplay", "pactl") if shutil.which(exe) is None]
    try:
        import pyaudio  # noqa: F401
    except ImportError:
        missing.append("pyaudio (pip install '.[mic]')")
    if missing:
        if REQUIRE:
            pytest.fail(f"missing for the microphone test: {missing} (make test installs them)")
        pytest.skip(f"missing for the microphone test: {missing}")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(run),
        "PULSE_RUNTIME_PATH": str(run / "pulse"),
    }
    env.pop("PULSE_SERVER", None)
    daemon = subprocess.Popen(  # in the foreground, so that teardown can end it by its pid
        ["pulseaudio", "-n", "--exit-idle-time=-1", "--use-pid-file=no", "--daemonize=no",
         "--load=module-native-protocol-unix auth-anonymous=1",
         "--load=module-null-sink sink_name=emo rate=48000 channels=2",
         "--load=module-always-sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            assert daemon.poll() is None and time.monotonic() < deadline, "pulseaudio did not come up"
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-source", "emo.monitor"], env=env, check=True)
        subprocess.run(["pactl", "set-default-sink", "emo"], env=env, check=True)
        os.environ.update({k: env[k] for k in saved})  # PyAudio (ALSA's pulse plugin) finds it there
        yield env
    finally:
        daemon.terminate()
        try:
            daemon.wait(5)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.shared
def test_microphone_records_speech_played_into_pulseaudio(
    shared: Path, tmp_path: Path, pulse: dict[str, str]
) -> None:
    y = np.concatenate([load_audio(ravdess_clip(shared, 19, 5, i)) for i in (4, 5)])  # ≈ 8 s of speech
    wav = write_wav(tmp_path / "play.wav", y, 48_000, 2)
    src = AudioSourceConfig(id="mic", url="mic", queue_size=400)
    q: BoundedQueue[AudioChunk] = BoundedQueue(src.queue_size, policy_for(src))
    stop = threading.Event()
    m = Metrics()
    s = AudioSource(src, q, m, stop)
    s.start()
    first = q.get(timeout=15)  # the device is open and delivering (silence from the idle sink)
    assert first is not None, s.error
    subprocess.run(["paplay", "--device=emo", str(wav)], env=pulse, check=True, timeout=60)
    time.sleep(0.5)
    stop.set()
    s.thread.join(5)
    chunks = [first, *drain(q, 60.0)]  # the source has stopped: until the queue is closed
    got = np.concatenate([c.samples for c in chunks])
    assert m.audio_source_up.labels("mic")._value.get() == 0 and s.error is None
    assert len(got) >= len(y) * 0.9, "recorded at least the played duration"
    vad = VoiceActivityDetector()
    windows = [got[i : i + 3 * SR] for i in range(0, len(got) - 3 * SR, SR)]
    verdicts = [vad(w).speech for w in windows]
    assert sum(verdicts) >= 3  # the played sentences were heard
    assert not vad(first.samples).speech


def test_config_checks_audio_sources() -> None:
    cfg = parse(
        {"cameras": [{"id": "hall", "url": "a.mp4"}], "audio": [{"id": "m", "url": "mic", "camera": "hall"}]}
    )
    assert cfg.audio[0].window == 3.0 and cfg.audio[0].hop == 1.0 and cfg.audio[0].camera == "hall"
    with pytest.raises(ConfigError, match="camera 'door' is not a configured camera"):
        parse({"audio": [{"id": "m", "url": "mic", "camera": "door"}]})
    with pytest.raises(ConfigError, match="duplicate audio id"):
        parse({"audio": [{"id": "m", "url": "mic"}, {"id": "m", "url": "x.wav"}]})
    with pytest.raises(ConfigError, match=r"audio\[0\]\.hop"):
        parse({"audio": [{"id": "m", "url": "mic", "hop": 0}]})
