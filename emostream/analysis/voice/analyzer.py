"""One audio source's analysis: windows → VAD → classify → debounce.

:class:`VoiceAnalyzer` turns one source's :class:`AudioChunk` stream into debouncer decisions. It
keeps the last ``window`` seconds of samples and looks at them every ``hop`` seconds of media time.
A window the VAD calls speech is classified and fed to the shared :class:`Debouncer` under the
current **segment** number (the event's ``track``): the first speech window of a segment gives
``voice.started``, a stable new emotion ``emotion.changed``, and the first non-speech window (or the
end of the source) ``voice.stopped`` with the segment's duration and emotion shares. A window's
``ts`` is the media time of its last sample. A source tied to a camera with speaker attribution on
has a :class:`~emostream.analysis.speaker.link.SpeakerLink`: it stamps the speaker on the voice
decisions and adds the speaker's fused (face + voice) decisions. Non-finite samples make the
window ``invalid``: skipped and counted, never fatal.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from emostream.analysis.debounce import Debouncer, Decision
from emostream.analysis.speaker.link import SpeakerLink
from emostream.analysis.voice.features import SAMPLE_RATE, check_audio, fit_length
from emostream.analysis.voice.silero import SileroVAD
from emostream.analysis.voice.speech import SpeechClassifier
from emostream.analysis.voice.vad import VoiceActivityDetector
from emostream.config import AudioSourceConfig, Config
from emostream.errors import AudioError
from emostream.metrics import Metrics
from emostream.sinks.events import TYPES
from emostream.types import AudioChunk

__all__ = ["VoiceAnalyzer"]

log = logging.getLogger("emostream.voice")


class VoiceAnalyzer:
    """One audio source's windows → VAD → classify → debounce (see the module doc)."""

    def __init__(
        self,
        src: AudioSourceConfig,
        cfg: Config,
        classifier: SpeechClassifier,
        metrics: Metrics,
        vad: VoiceActivityDetector | SileroVAD | None = None,
        link: SpeakerLink | None = None,
    ) -> None:
        self.src = src
        self.camera = src.camera or src.id
        self.modality = "voice"
        self.tracked: list = []  # a voice has no faces; the channel's frame sinks see none
        self.classifier = classifier
        self.link = link
        v = cfg.voice
        if vad is None and v.vad == "silero":
            vad = SileroVAD(v.min_dbfs, v.min_voiced, v.min_prob, providers=cfg.runtime.providers)
        self.vad = vad or VoiceActivityDetector(min_dbfs=v.min_dbfs, min_voiced=v.min_voiced)
        d = cfg.debounce
        self.debouncer = Debouncer(classifier.labels, d.half_life, d.enter, d.margin, d.min_dwell)
        self.n_window = round(src.window * SAMPLE_RATE)
        self.n_hop = max(1, round(src.hop * SAMPLE_RATE))
        self._buf = np.zeros(0, np.float32)
        self._buf_end = 0  # sample index (media clock) just after the buffer's last sample
        self._next_end = self.n_window  # sample index at which the next window ends
        self.segment = 0
        self._in_speech = False
        self._last_speech_ts = 0.0
        self.windows = 0
        self.speech_windows = 0
        self.events = 0
        sid = src.id
        self._m = metrics
        self._windows = {k: metrics.audio_windows.labels(sid, k) for k in ("speech", "silence", "invalid")}
        self._ratio = metrics.audio_speech_ratio.labels(sid)
        self._latency = metrics.voice_classify_seconds.labels(sid)
        self._dropped = metrics.audio_chunks_dropped.labels(sid, "invalid")

    def process(self, chunk: AudioChunk) -> list[Decision]:
        """Add a chunk; returns the decisions of every window that ended inside it."""
        start = round(chunk.ts * SAMPLE_RATE)
        samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(samples)):  # kept in place: the windows holding it are skipped
            self._dropped.inc()
        if start > self._buf_end:  # a gap (live source dropped chunks): windows never span it
            self._buf = np.zeros(0, np.float32)
            self._next_end = start + self.n_window
        self._buf = np.concatenate([self._buf, samples])[-(self.n_window + self.n_hop + len(samples)) :]
        self._buf_end = start + len(samples)
        out: list[Decision] = []
        while self._next_end <= self._buf_end:
            lo = len(self._buf) - (self._buf_end - self._next_end) - self.n_window
            if lo >= 0:
                out += self._window(self._buf[lo : lo + self.n_window], self._next_end / SAMPLE_RATE)
            self._next_end += self.n_hop
        keep = max(self.n_window, self._buf_end - (self._next_end - self.n_window))
        if keep < len(self._buf):
            self._buf = self._buf[len(self._buf) - keep :]
        self._count(out)
        if self.link is not None:
            self.link.board.heard(self._buf_end / SAMPLE_RATE)
        return out

    def _window(self, w: np.ndarray, ts: float) -> list[Decision]:
        self.windows += 1
        try:
            check_audio(w)
            verdict = self.vad(w)
        except AudioError as exc:
            log.debug("audio %s: window at %.2fs skipped: %s", self.src.id, ts, exc)
            self._windows["invalid"].inc()
            return []
        self._ratio.set(verdict.voiced)
        if not verdict.speech:
            self._windows["silence"].inc()
            return self._stop_segment()
        self._windows["speech"].inc()
        self.speech_windows += 1
        t0 = time.perf_counter()
        scores = self.classifier.classify(w)
        self._latency.observe(time.perf_counter() - t0)
        if not self._in_speech:
            self._in_speech = True
            self.segment += 1
        self._last_speech_ts = ts
        decisions = self.debouncer.update(self.segment, ts, scores.probs)
        if self.link is not None:
            probs = np.asarray(scores.probs)
            decisions = self.link.window(self.segment, ts, w, probs, self.classifier.labels, decisions)
        return decisions

    def _stop_segment(self) -> list[Decision]:
        if not self._in_speech:
            return []
        self._in_speech = False
        d = self.debouncer.end(self.segment, self._last_speech_ts)
        out = [d] if d is not None else []
        if self.link is not None:
            out = self.link.end(self.segment, self._last_speech_ts, out)
        return out

    def finish(self, ts: float | None = None) -> list[Decision]:
        """The source ended: analyse the audio after the last window (a short file's only window), then
        close the open segment."""
        out: list[Decision] = []
        last_end = self._next_end - self.n_hop
        if len(self._buf) and (self.windows == 0 or self._buf_end - last_end > self.n_hop // 2):
            tail = self._buf[-self.n_window :]
            out += self._window(fit_length(tail, self.n_window, 0), self._buf_end / SAMPLE_RATE)
        out += self._stop_segment()
        self._count(out)
        return out

    def _count(self, decisions: list[Decision]) -> None:
        for d in decisions:
            kind = TYPES[d.modality or "voice"][d.kind]
            self._m.voice_events.labels(self.src.id, kind, d.emotion or "none").inc()
        self.events += len(decisions)
