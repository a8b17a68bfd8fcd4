"""Audio sources: one capture thread per audio source feeding a bounded queue of :class:`AudioChunk`.

Three kinds, all delivered as 16 kHz mono float32 in chunks of ``CHUNK_SECONDS``:

* ``mic`` / ``mic:N``: a PyAudio input device (the ``mic`` extra; PortAudio), the default one or
  device index N, opened at 16 kHz (PortAudio / PulseAudio resample), else at the device's own rate
  and resampled here;
* a network stream (``rtsp://`` …) or a media file whose **audio track** is used (video files too),
  and WAV/FLAC files: decoded and resampled (any rate, any channel layout → 16 kHz mono) by PyAV.

Media time is the number of samples delivered since the source started / 16 000, carried across
reconnects and loops, so windows and events of a replayed file are identical. Like video sources,
live sources drop the oldest chunk when analysis falls behind and reopen with capped exponential
backoff (:mod:`emostream.sources.reconnect`); files block the producer (or are paced with
``realtime``) and end (or ``loop``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from emostream.analysis.voice.features import SAMPLE_RATE
from emostream.config import AudioSourceConfig
from emostream.errors import SourceError
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.sources.media import MAX_LEAD, decoded, reason, source_kind
from emostream.sources.pace import Pacer
from emostream.sources.queues import BoundedQueue
from emostream.sources.reconnect import ReconnectingSource
from emostream.types import AudioChunk

__all__ = ["CHUNK", "CHUNK_SECONDS", "AudioSource", "audio_kind", "mic_audio", "pyav_audio"]

CHUNK_SECONDS = 0.1
GAP_FILL = 0.04  # seconds: a jump in an audio track's timestamps this large is filled with silence
CHUNK = int(SAMPLE_RATE * CHUNK_SECONDS)
_MIC = re.compile(r"^mic(?::(\d+))?$", re.IGNORECASE)


def audio_kind(url: str) -> str:
    """``mic`` for a microphone, ``stream`` for a network URL, ``file`` otherwise."""
    if _MIC.match(url.strip()):
        return "mic"
    kind = source_kind(url)
    return "file" if kind == "webcam" else kind


def _resampler() -> av.AudioResampler:
    """To 16 kHz planar float, keeping the channels: they are averaged in :func:`_mono` (FFmpeg's own
    downmix would make a stereo recording of one voice 3 dB louder than its mono original)."""
    return av.AudioResampler(format="fltp", rate=SAMPLE_RATE)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    a = frame.to_ndarray()
    return (a.mean(axis=0) if a.ndim == 2 else a.reshape(-1)).astype(np.float32, copy=False)


def pyav_audio(url: str, kind: str, watchdog: float = 10.0, lead: bool = False) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of the first audio track of a file or stream.

    The samples follow the container's clock, as the camera's frames do (:func:`decoded`): with
    ``lead`` (the first pass) a track starting after its container's start is preceded by that much
    silence, and a gap in the track's timestamps (RTP packets lost, a stream whose audio is shorter
    than its video) is filled with silence, so that sample count / 16 kHz stays media time."""
    resampler = _resampler()
    clock: float | None = None  # container time of the next sample this pass yields
    for frames, end, origin in decoded(url, kind, "audio", watchdog):
        for frame in frames:
            if frame.time is None:
                continue
            t = frame.time - origin
            if clock is None:
                clock = 0.0 if lead else t
            gap = t - clock
            if GAP_FILL <= gap <= MAX_LEAD:
                yield np.zeros(round(gap * SAMPLE_RATE), np.float32)
                clock = t
            break  # one check per packet: a packet's frames are contiguous
        # At the end the resampler gives back what it still holds (a None frame flushes it).
        for frame in [*frames, None] if end else frames:
            for out in resampler.resample(frame):
                block = _mono(out)
                if clock is not None:
                    clock += len(block) / SAMPLE_RATE
                yield block
        if end:
            resampler = _resampler()


def mic_audio(url: str, stop: threading.Event) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks from a PyAudio input device (``mic`` or ``mic:N``)."""
    try:
        import pyaudio
    except ImportError:
        raise SourceError("microphones need PyAudio: pip install 'emostream[mic]' (see README)") from None
    m = _MIC.match(url.strip())
    index = int(m.group(1)) if m and m.group(1) else None
    pa = pyaudio.PyAudio()
    stream = None
    try:
        info = pa.get_device_info_by_index(index) if index is not None else pa.get_default_input_device_info()

        def open_at(rate: int):
            return pa.open(
                rate=rate,
                channels=1,
                format=pyaudio.paFloat32,
                input=True,
                input_device_index=index,
                frames_per_buffer=int(rate * CHUNK_SECONDS),
            )

        rate = SAMPLE_RATE
        try:
            stream = open_at(rate)
        except (OSError, ValueError):  # the device cannot do 16 kHz: take its own rate, resample here
            rate = int(info["defaultSampleRate"])
            stream = open_at(rate)
        resampler = _resampler() if rate != SAMPLE_RATE else None
        n = int(rate * CHUNK_SECONDS)
        while not stop.is_set():
            data = np.frombuffer(stream.read(n, exception_on_overflow=False), dtype=np.float32)
            if resampler is None:
                yield data.copy()
                continue
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                yield _mono(out)
    except (OSError, ValueError) as exc:
        raise SourceError(f"microphone {url}: {reason(exc)}") from None
    finally:
        if stream is not None:
            stream.close()
        pa.terminate()


class AudioSource(ReconnectingSource):
    """Reads one audio source on its own thread and puts :class:`AudioChunk` on ``queue``."""

    role = "audio"
    empty = "audio samples"

    def __init__(
        self,
        src: AudioSourceConfig,
        queue: BoundedQueue[AudioChunk],
        metrics: Metrics,
        stop: threading.Event,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        m, sid = metrics, src.id
        series = (
            m.audio_source_up.labels(sid),
            m.audio_source_errors.labels(sid),
            m.audio_reconnects.labels(sid),
        )
        super().__init__(sid, src.url, audio_kind(src.url), src.loop, queue, stop, series, backoff)
        self.src = src
        self.metrics = metrics
        self.samples = 0  # delivered since start: the media clock
        self.chunks = 0
        self._pacer = Pacer(stop)  # realtime files: one clock across loops (samples keep counting)

    @property
    def captured(self) -> int:
        return self.chunks

    def _raw(self) -> Iterator[np.ndarray]:
        if self.kind == "mic":
            return mic_audio(self.src.url, self._stop)
        if self.kind == "file" and not Path(self.src.url).is_file():
            raise SourceError(f"cannot open file {redact(self.src.url)}: no such file")
        return pyav_audio(self.src.url, self.kind, self.src.watchdog, lead=self.samples == 0)

    def play_once(self) -> Iterator[None]:
        """One pass of the source, yielding once per chunk put on the queue."""
        captured = self.metrics.audio_chunks_captured.labels(self.src.id)
        pending: list[np.ndarray] = []
        have = 0
        for block in self._raw():
            if self._stop.is_set():
                return
            pending.append(block)
            have += len(block)
            while have >= CHUNK:
                buf = np.concatenate(pending)
                chunk, rest = buf[:CHUNK], buf[CHUNK:]
                pending, have = [rest], len(rest)
                paced = self.src.realtime and not self.live
                if paced and self._pacer.wait(self.samples / SAMPLE_RATE) is None:
                    return
                item = AudioChunk(self.src.id, self.chunks, self.samples / SAMPLE_RATE, time.time(), chunk)
                self.samples += CHUNK
                self.chunks += 1
                captured.inc()
                if not self.queue.put(item):
                    return
                yield
        if have and not self.live:  # the file's tail, so its last word is not lost
            tail = np.concatenate(pending)
            item = AudioChunk(self.src.id, self.chunks, self.samples / SAMPLE_RATE, time.time(), tail)
            self.samples += len(tail)
            self.chunks += 1
            captured.inc()
            if self.queue.put(item):
                yield
