"""Training augmentation for the room: what a ceiling or counter microphone does to a voice.

Used by :func:`export.speech_data.augment`. The room itself (impulse response, babble, pink noise) is
:mod:`emostream.tools.evaluate.room`, the code ``eval speech --room`` scores with, drawn here from
wider ranges (:data:`TRAIN_RANGES`) so that the evaluation room lies inside the training
distribution without being it. Babble is only ever built from *training* speakers: the caller passes
the other recordings it may use (see ``speech_data.babble_groups``).

On top of the room: speed perturbation (0.9–1.1, tempo and pitch together, as Kaldi's recipes do),
a telephone-like band limit, and the codecs cameras and intercoms put on audio, through PyAV (the
daemon's own decoder): AAC at 24–64 kbit/s, Opus at 12–32 kbit/s, G.711 µ-law at 8 kHz.
"""

from __future__ import annotations

import io

import av
import numpy as np

from emostream.analysis.voice.features import SAMPLE_RATE
from emostream.tools.evaluate.media import mux_audio
from emostream.tools.evaluate.room import RoomRanges, draw_room, simulate

TRAIN_RANGES = RoomRanges(
    rt60=(0.2, 1.0), snr_db=(0.0, 25.0), distance=(0.5, 5.0), volume=(20.0, 500.0), talkers=(1, 6)
)
# container and encoder per codec; G.711 is narrow-band, so it runs at 8 kHz
_DELAY = {"aac": 1024}  # FFmpeg's AAC encoder primes 1024 samples that ADTS does not tell the decoder to skip
_CODECS = {
    "aac": ("adts", "aac", SAMPLE_RATE, (24_000, 64_000)),
    "opus": ("ogg", "libopus", SAMPLE_RATE, (12_000, 32_000)),
    "mulaw": ("wav", "pcm_mulaw", 8_000, (64_000, 64_000)),
}


def _resample(frames: list[av.AudioFrame], rate: int, fmt: str) -> list[av.AudioFrame]:
    rs = av.AudioResampler(format=fmt, layout="mono", rate=rate)
    out = []
    for f in [*frames, None]:
        out += rs.resample(f)
    return out


def codec_roundtrip(y: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
    """``y`` (16 kHz mono float32) encoded with ``codec`` at ``bitrate`` and decoded back to 16 kHz,
    cut or zero-padded to its original length (encoders add priming samples)."""
    fmt, encoder, rate, _ = _CODECS[codec]
    src = av.AudioFrame.from_ndarray(
        np.clip(y, -1, 1).astype(np.float32)[None, :], format="flt", layout="mono"
    )
    src.sample_rate = SAMPLE_RATE
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        st = out.add_stream(encoder, rate=rate, layout="mono")
        st.bit_rate = bitrate
        want = st.codec_context.format.name
        frames = _resample([src], rate, want)
        data = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        mux_audio(out, st, data, want, rate)
    buf.seek(0)
    with av.open(buf, "r") as inp:
        decoded = list(inp.decode(audio=0))
    back = _resample(decoded, SAMPLE_RATE, "flt")
    z = np.concatenate([f.to_ndarray().reshape(-1) for f in back]) if back else np.zeros(0, np.float32)
    z = z[_DELAY.get(codec, 0) * SAMPLE_RATE // rate :]
    out_y = np.zeros(len(y), np.float32)
    out_y[: min(len(y), len(z))] = z[: len(y)]
    return out_y


def speed(y: np.ndarray, factor: float) -> np.ndarray:
    """``y`` played ``factor`` times faster (tempo and pitch together), by linear interpolation."""
    n = max(1, round(len(y) / factor))
    return np.interp(np.arange(n) * factor, np.arange(len(y)), y).astype(np.float32)


def band_limit(y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``y`` without what lies below ``lo`` and above ``hi`` Hz (FFT mask, 1-octave cosine skirts)."""
    spec = np.fft.rfft(y.astype(np.float64))
    f = np.fft.rfftfreq(len(y), 1.0 / SAMPLE_RATE)
    with np.errstate(divide="ignore"):
        octs_lo = np.log2(np.maximum(f, 1.0) / lo)
        octs_hi = np.log2(np.maximum(f, 1.0) / hi)
    gain = np.clip(0.5 + 0.5 * np.cos(np.pi * np.clip(-octs_lo, 0, 1)), 0, 1) * (octs_lo < 0) + (octs_lo >= 0)
    gain *= np.where(octs_hi > 0, 0.5 + 0.5 * np.cos(np.pi * np.clip(octs_hi, 0, 1)), 1.0)
    return np.fft.irfft(spec * gain, len(y)).astype(np.float32)


def room_augment(y: np.ndarray, others: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """``y`` in a random training room (reverberation, babble of ``others``, pink noise)."""
    return simulate(y, others, draw_room(rng, TRAIN_RANGES), rng, babble_share=float(rng.uniform(0.3, 1.0)))


def channel_augment(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's audio channel: with probability 0.15 a telephone band, 0.3 a codec, else untouched."""
    r = rng.random()
    if r < 0.15:
        return band_limit(y, float(rng.uniform(200, 400)), float(rng.uniform(3000, 4000)))
    if r < 0.45:
        codec = str(rng.choice(list(_CODECS)))
        lo, hi = _CODECS[codec][3]
        return codec_roundtrip(y, codec, int(rng.uniform(lo, hi)))
    return y
