"""Voice activity detection: does a window of 16 kHz mono audio contain speech?

Speech is recognised by what noise lacks: *voicing*, a periodic waveform at a pitch between 70 and
400 Hz. The window is cut into 64 ms frames every 16 ms. Each frame's power spectrum is limited to
70..1000 Hz (where voiced harmonics are strong) and *whitened* (divided by its own 500 Hz moving
average), so a coloured noise (pink, brown, a fan's rumble) becomes flat while a voice keeps its
comb of harmonics; the autocorrelation of that spectrum, divided by the Hann window's own
autocorrelation (as in Boersma 1993), peaks near 1 at the pitch period of a voiced frame and stays
below ~0.5 for noise. A frame is **voiced** when it is loud enough (RMS ≥ ``min_dbfs``) and that
peak is ≥ ``min_periodicity``; the window is speech when at least ``min_voiced`` of its frames are
voiced (0.1 of 3 s ≈ 0.3 s of voiced sound).

Silence (digital or a quiet room) fails the loudness test; white, pink and brown noise, fans and
hiss are not periodic. Sustained periodic non-speech (a hum, a whistle, music) can pass: see the
speech model card. Pure numpy/scipy; a few ms per 3 s window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from emostream.analysis.voice.features import SAMPLE_RATE, check_audio

FRAME = 1024
HOP = 256
MIN_LAG = SAMPLE_RATE // 400  # 400 Hz
MAX_LAG = SAMPLE_RATE // 70  # 70 Hz
_NFFT = 2048
_SMOOTH_BINS = 64  # 500 Hz at 7.8 Hz per bin
_HANN = np.hanning(FRAME)
_W_AC = np.fft.irfft(np.abs(np.fft.rfft(_HANN, _NFFT)) ** 2, _NFFT)[: MAX_LAG + 1]
_W_AC = _W_AC / _W_AC[0]
_FREQS = np.fft.rfftfreq(_NFFT, 1.0 / SAMPLE_RATE)
_BAND = ((_FREQS >= 70.0) & (_FREQS <= 1000.0)).astype(np.float64)


@dataclass(frozen=True, slots=True)
class VadResult:
    """The verdict on one window and why: ``voiced`` is the share of voiced frames."""

    speech: bool
    voiced: float
    level_dbfs: float  # RMS of the whole window


class VoiceActivityDetector:
    """Stateless voicing-based VAD (see the module doc); thread-safe."""

    def __init__(
        self, min_dbfs: float = -65.0, min_periodicity: float = 0.6, min_voiced: float = 0.1
    ) -> None:
        self.min_dbfs = min_dbfs
        self.min_periodicity = min_periodicity
        self.min_voiced = min_voiced

    def frames(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame RMS in dBFS and periodicity (0..1) of ``y``."""
        a = check_audio(y).astype(np.float64)
        if len(a) < FRAME:
            a = np.pad(a, (0, FRAME - len(a)))
        fr = np.lib.stride_tricks.sliding_window_view(a, FRAME)[::HOP]
        fr = fr - fr.mean(axis=1, keepdims=True)
        db = 10.0 * np.log10(np.maximum(np.mean(fr**2, axis=1), 1e-20))
        power = np.abs(np.fft.rfft(fr * _HANN, _NFFT, axis=1)) ** 2 * _BAND
        floor = 1e-12 * power.max(axis=1, keepdims=True) + 1e-30
        power = power / (uniform_filter1d(power, _SMOOTH_BINS, axis=1) + floor) * _BAND
        ac = np.fft.irfft(power, _NFFT, axis=1)[:, : MAX_LAG + 1]
        norm = ac / np.maximum(ac[:, :1], 1e-30) / _W_AC
        periodicity = np.clip(norm[:, MIN_LAG:].max(axis=1), 0.0, 1.0)
        return db, periodicity

    def __call__(self, y: np.ndarray) -> VadResult:
        a = check_audio(y)
        db, per = self.frames(a)
        return verdict(a, (db >= self.min_dbfs) & (per >= self.min_periodicity), self.min_voiced)


def verdict(a: np.ndarray, voiced: np.ndarray, min_voiced: float) -> VadResult:
    """The window ``a``'s verdict from its per-frame voiced flags (both VADs end here)."""
    share = float(np.mean(voiced))
    level = float(20.0 * np.log10(max(float(np.sqrt(np.mean(a.astype(np.float64) ** 2))), 1e-10)))
    return VadResult(share >= min_voiced, round(share, 4), round(level, 2))
