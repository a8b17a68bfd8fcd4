"""A seeded simulation of a real room for speech: reverberation, other talkers and noise.

``emostream eval speech --room SEED`` plays every labelled recording through it, and the speech
model's training (``export/speech_data.py``) draws its room augmentation from the same functions with
wider ranges, so "room" means one thing in the card, in CI and on a user's own recordings.

A room (:func:`draw_room`) is a volume, a reverberation time RT60, a talker-to-microphone distance
and a signal-to-noise ratio. Its impulse response (:func:`impulse_response`) is synthetic but shaped
like a measured one: the direct sound at ``distance / c`` with amplitude ``1 / distance``, sparse early
reflections over the first 50 ms, then a diffuse tail of Gaussian noise that decays by 60 dB over
RT60, faster at high frequencies (absorption grows with frequency), scaled so that the
direct-to-reverberant energy ratio is ``(r_c / d)²`` with Sabine's critical distance
``r_c = 0.057 √(V / RT60)``: a microphone on a ceiling a few metres away hears mostly the room.
The noise is babble (3–6 other recordings, each through its own impulse response of the same room,
farther away) plus pink noise, mixed at the room's SNR relative to the reverberant speech.

Everything is drawn from ``numpy.random.default_rng([seed, crc32(file name)])``: the same seed gives
the same room for a recording whatever the order or the machine.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from emostream.analysis.voice.features import SAMPLE_RATE

__all__ = [
    "EVAL_RANGES",
    "SNR_BUCKETS",
    "Room",
    "RoomRanges",
    "clip_rng",
    "draw_room",
    "impulse_response",
    "mix_at_snr",
    "pink_noise",
    "pool_indices",
    "room_version",
    "simulate",
    "snr_bucket",
]

SPEED_OF_SOUND = 343.0
# late-tail RT60 per band relative to the room's (low < 500 Hz, mid, high > 2 kHz): soft furnishing
# and air absorb high frequencies faster, which is what makes a far voice sound dull
_BAND_EDGES = (0.0, 500.0, 2000.0, SAMPLE_RATE / 2)
_BAND_RT60 = (1.15, 1.0, 0.7)


@dataclass(frozen=True)
class RoomRanges:
    """Uniform ranges a room is drawn from."""

    rt60: tuple[float, float] = (0.4, 0.8)
    snr_db: tuple[float, float] = (5.0, 15.0)
    distance: tuple[float, float] = (1.0, 4.0)
    volume: tuple[float, float] = (30.0, 300.0)
    talkers: tuple[int, int] = (3, 6)


EVAL_RANGES = RoomRanges()
"""The issue's room: RT60 0.4–0.8 s, 5–15 dB SNR, a talker 1–4 m from the microphone in 30–300 m³."""

SNR_BUCKETS = ((5.0, 8.0), (8.0, 11.0), (11.0, 15.0))


@dataclass(frozen=True)
class Room:
    """One drawn room (the figures ``eval speech --room`` reports per recording)."""

    rt60: float
    volume: float
    distance: float
    snr_db: float
    talkers: int

    @property
    def critical_distance(self) -> float:
        return 0.057 * float(np.sqrt(self.volume / self.rt60))


def clip_rng(seed: int, name: str) -> np.random.Generator:
    """The generator for one recording: keyed by the seed and the file name, not by order."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def draw_room(rng: np.random.Generator, ranges: RoomRanges = EVAL_RANGES) -> Room:
    return Room(
        rt60=float(rng.uniform(*ranges.rt60)),
        volume=float(rng.uniform(*ranges.volume)),
        distance=float(rng.uniform(*ranges.distance)),
        snr_db=float(rng.uniform(*ranges.snr_db)),
        talkers=int(rng.integers(ranges.talkers[0], ranges.talkers[1] + 1)),
    )


def impulse_response(room: Room, rng: np.random.Generator, distance: float | None = None) -> np.ndarray:
    """A synthetic impulse response of ``room`` at ``distance`` (default: the room's), float32."""
    d = room.distance if distance is None else distance
    sr = SAMPLE_RATE
    n = int(1.2 * room.rt60 * max(_BAND_RT60) * sr)
    t0 = round(d / SPEED_OF_SOUND * sr)
    h = np.zeros(t0 + n, np.float64)
    h[t0] = 1.0 / d
    t = np.arange(n) / sr
    # diffuse tail: band-limited noise per band, each with its own exponential decay
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    tail = np.zeros(n)
    for (lo, hi), k in zip(itertools.pairwise(_BAND_EDGES), _BAND_RT60, strict=True):
        band = np.fft.irfft(np.where((freqs >= lo) & (freqs < hi), spec, 0.0), n)
        tail += band * 10 ** (-3.0 * t / (room.rt60 * k))  # amplitude falls 60 dB over the band's RT60
    # early reflections: sparse taps in the first 50 ms, growing denser, under the same envelope
    n_early = int(rng.integers(6, 14))
    at = np.sort(rng.uniform(0.001, 0.05, n_early))
    idx = (at * sr).astype(int)
    tail[idx] += rng.choice([-1.0, 1.0], n_early) * 3.0 * np.std(tail[:2000]) * 10 ** (-3.0 * at / room.rt60)
    tail[:1] = 0.0  # nothing arrives with the direct sound itself
    # Sabine: direct / reverberant energy = (r_c / d)^2 with direct energy 1 / d^2
    reverb_energy = 1.0 / room.critical_distance**2
    tail *= np.sqrt(reverb_energy / (np.sum(tail**2) + 1e-20))
    h[t0 : t0 + n] += tail
    return h.astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of 1/f noise (power falls 3 dB per octave), unit variance."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / np.sqrt(f), n)
    return y / (np.std(y) + 1e-12)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, speech_power: float) -> np.ndarray:
    """``speech + noise`` with the noise scaled to ``snr_db`` below ``speech_power``."""
    p_noise = float(np.mean(noise.astype(np.float64) ** 2)) + 1e-20
    return speech + noise * np.sqrt(speech_power / (p_noise * 10 ** (snr_db / 10)))


def _reverb(y: np.ndarray, h: np.ndarray, n: int) -> np.ndarray:
    return fftconvolve(y.astype(np.float64), h.astype(np.float64))[:n]


def _babble(others: list[np.ndarray], n: int, room: Room, rng: np.random.Generator) -> np.ndarray:
    """``room.talkers`` other recordings, looped to ``n`` samples from random offsets, each from its own
    place in the room (1.5–3× the speaker's distance) at levels within ±3 dB of each other."""
    out = np.zeros(n)
    picks = rng.choice(len(others), size=min(room.talkers, len(others)), replace=False)
    for i in picks:
        y = others[int(i)].astype(np.float64)
        reps = int(np.ceil((n + len(y)) / max(len(y), 1))) + 1
        loop = np.tile(y, reps)
        start = int(rng.integers(0, len(y)))
        seg = loop[start : start + n]
        seg = seg / (np.sqrt(np.mean(seg**2)) + 1e-12) * 10 ** (rng.uniform(-3, 3) / 20)
        h = impulse_response(room, rng, distance=room.distance * float(rng.uniform(1.5, 3.0)))
        out += _reverb(seg, h, n)
    return out


def simulate(
    y: np.ndarray, others: list[np.ndarray], room: Room, rng: np.random.Generator, babble_share: float = 0.7
) -> np.ndarray:
    """``y`` (16 kHz mono) as a microphone in ``room`` hears it among ``others`` talking, float32 in
    [-1, 1]. ``babble_share`` of the noise power is babble (when ``others`` is not empty), the rest
    pink noise; the result keeps the length of ``y`` and is peak-normalised below full scale."""
    n = len(y)
    wet = _reverb(y, impulse_response(room, rng), n)
    active = np.abs(wet) > 0.05 * (np.max(np.abs(wet)) + 1e-12)  # SNR against the speech, not its pauses
    p_speech = float(np.mean(wet[active] ** 2)) if active.any() else float(np.mean(wet**2))
    pink = pink_noise(n, rng)
    if others:
        bab = _babble(others, n, room, rng)
        bab /= np.sqrt(np.mean(bab**2)) + 1e-12
        noise = np.sqrt(babble_share) * bab + np.sqrt(1 - babble_share) * pink
    else:
        noise = pink
    out = mix_at_snr(wet, noise, room.snr_db, p_speech)
    return (out / (np.max(np.abs(out)) + 1e-12) * 0.9).astype(np.float32)


def snr_bucket(snr_db: float) -> str:
    """The report's SNR bucket of ``snr_db``, e.g. ``"5-8 dB"``."""
    for lo, hi in SNR_BUCKETS:
        if lo <= snr_db < hi or (hi == SNR_BUCKETS[-1][1] and snr_db == hi):
            return f"{lo:g}-{hi:g} dB"
    return f"{snr_db:.0f} dB"


POOL_SIZE = 48


def pool_indices(n: int, seed: int, size: int = POOL_SIZE) -> list[int]:
    """Which of a folder's ``n`` recordings (in sorted order) make up the babble pool for ``seed``."""
    rng = np.random.default_rng([seed, n])
    return sorted(int(i) for i in rng.choice(n, size=min(size, n), replace=False))


def room_version(
    y: np.ndarray,
    name: str,
    speaker: str,
    pool: list[tuple[str, str, np.ndarray]],
    seed: int,
    ranges: RoomRanges = EVAL_RANGES,
) -> tuple[np.ndarray, Room]:
    """The recording ``y`` (trimmed, 16 kHz) played in the room drawn for ``(seed, name)``, with babble
    from ``pool`` entries ``(name, speaker, wave)`` of other recordings and, when known, other speakers."""
    rng = clip_rng(seed, name)
    room = draw_room(rng, ranges)
    others = [w for nm, spk, w in pool if nm != name and not (speaker and spk == speaker)]
    return simulate(y, others, room, rng), room
