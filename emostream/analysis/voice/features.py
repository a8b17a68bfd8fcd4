"""Speech features: the one function that turns 16 kHz mono audio into the speech model's input.

Training (``export/train_speech.py``), evaluation (``emostream eval speech``) and the daemon
(:mod:`emostream.voice`) all call :func:`logmel`, so the model always sees the same numbers.

The feature is a **log-mel spectrogram** computed with librosa: 25 ms Hann windows (400 samples,
zero-padded to a 512-point FFT) every 10 ms (160 samples), 64 mel bands from 50 Hz to 8 kHz, power
in dB relative to the loudest bin of the window and floored 80 dB below it, then mapped to about
[-1, 1] as ``dB / 40 + 1``. Being relative to the window's maximum, it ignores gain; the floor makes
digital silence and padding harmless. A 3 s window gives a (64, 301) array.

:func:`load_audio` reads WAV/FLAC (any rate, any channel count) to 16 kHz mono float32, and
:func:`clip_windows` cuts a whole recording into model windows the way training and evaluation do.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np

from emostream.errors import AudioError

SAMPLE_RATE = 16_000
N_FFT = 512
WIN_LENGTH = 400
HOP_LENGTH = 160
N_MELS = 64
FMIN = 50.0
FMAX = 8_000.0
TOP_DB = 80.0
WINDOW_SECONDS = 3.0
FEATURE_SPEC = "logmel/sr16000/nfft512/win400/hop160/mels64/fmin50/fmax8000/db-ref-max-top80/x40+1"
"""Written into the speech model's ONNX metadata (``features``); a model with another value is refused."""

_MEL = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX).astype(
    np.float32
)


def n_frames(seconds: float = WINDOW_SECONDS) -> int:
    """Number of feature frames for ``seconds`` of audio (librosa's centred framing)."""
    return 1 + round(seconds * SAMPLE_RATE) // HOP_LENGTH


def check_audio(y: np.ndarray) -> np.ndarray:
    """``y`` as contiguous float32 1-D audio, or :class:`AudioError` for empty / non-finite input."""
    a = np.asarray(y)
    if a.ndim != 1:
        raise AudioError(f"expected mono 1-D audio, got shape {a.shape}")
    if a.size == 0:
        raise AudioError("empty audio")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise AudioError("audio contains NaN or infinite samples")
    return a


def logmel(y: np.ndarray) -> np.ndarray:
    """(N_MELS, frames) float32 log-mel features of 16 kHz mono audio ``y`` (see the module doc)."""
    a = check_audio(y)
    spec = np.abs(
        librosa.stft(a, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, window="hann", center=True)
    )
    mel = _MEL @ (spec.astype(np.float32) ** 2)
    db = librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=TOP_DB)
    return (db / 40.0 + 1.0).astype(np.float32)


def fit_length(y: np.ndarray, n: int, offset: int | None = None) -> np.ndarray:
    """Exactly ``n`` samples: a longer ``y`` is cut at ``offset`` (default: centred), a shorter one is
    placed at ``offset`` (default: centred) in zeros."""
    if len(y) >= n:
        start = (len(y) - n) // 2 if offset is None else min(max(offset, 0), len(y) - n)
        return y[start : start + n]
    out = np.zeros(n, np.float32)
    start = (n - len(y)) // 2 if offset is None else min(max(offset, 0), n - len(y))
    out[start : start + len(y)] = y
    return out


def trim(y: np.ndarray, top_db: float = 35.0, keep: float = 0.2) -> np.ndarray:
    """``y`` without leading and trailing silence (quieter than ``top_db`` below its peak), keeping
    ``keep`` seconds of margin on each side."""
    a = check_audio(y)
    _, (start, end) = librosa.effects.trim(a, top_db=top_db, frame_length=512, hop_length=128)
    margin = int(keep * SAMPLE_RATE)
    return a[max(0, start - margin) : min(len(a), end + margin)]


def clip_windows(y: np.ndarray, window: float = WINDOW_SECONDS, hop: float = 1.0) -> list[np.ndarray]:
    """The model windows of one recording: trimmed of silence, then one centred window if it is
    shorter than ``window``, else windows every ``hop`` seconds covering it (the last one flush)."""
    a = trim(y)
    n, step = round(window * SAMPLE_RATE), max(1, round(hop * SAMPLE_RATE))
    if len(a) <= n:
        return [fit_length(a, n)]
    starts = list(range(0, len(a) - n + 1, step))
    if starts[-1] != len(a) - n:
        starts.append(len(a) - n)
    return [a[s : s + n] for s in starts]


def to_mono_16k(data: np.ndarray, rate: int) -> np.ndarray:
    """(samples,) or (samples, channels) audio at ``rate`` → 16 kHz mono float32 (channels averaged)."""
    a = np.asarray(data, dtype=np.float32)
    if a.ndim == 2:
        a = a.mean(axis=1)
    a = check_audio(a)
    if rate <= 0:
        raise AudioError(f"invalid sample rate {rate}")
    if rate != SAMPLE_RATE:
        a = librosa.resample(a, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq").astype(np.float32)
    return a


def load_audio(path: str | Path) -> np.ndarray:
    """A WAV/FLAC file (any rate, any channel count) as 16 kHz mono float32 in [-1, 1]."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(f"cannot read audio {path}: {str(exc).splitlines()[0]}") from None
    return to_mono_16k(data, int(rate))
