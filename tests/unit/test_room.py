"""The room simulation behind ``eval speech --room`` and the speech model's room augmentation: its
impulse responses decay at the drawn RT60 with the direct-to-reverberant ratio Sabine predicts, the
noise lands at the drawn SNR, and a seed and a file name always give the same room."""

from __future__ import annotations

import numpy as np
import pytest

from emostream.analysis.voice.features import SAMPLE_RATE
from emostream.tools.evaluate.corpus import folder_label
from emostream.tools.evaluate.room import (
    EVAL_RANGES,
    Room,
    clip_rng,
    draw_room,
    impulse_response,
    mix_at_snr,
    pink_noise,
    room_version,
    snr_bucket,
)


def measured_rt60(h: np.ndarray) -> float:
    """T20 by Schroeder backward integration (-5 to -25 dB), extrapolated to 60 dB."""
    start = int(np.argmax(np.abs(h)))
    e = np.cumsum(h[start:][::-1].astype(np.float64) ** 2)[::-1]
    db = 10 * np.log10(e / e[0])
    t = np.arange(len(db)) / SAMPLE_RATE
    sel = (db <= -5) & (db >= -25)
    slope = np.polyfit(t[sel], db[sel], 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.4, 0.6, 0.8])
def test_impulse_response_decays_at_the_drawn_rt60(rt60: float) -> None:
    room = Room(rt60=rt60, volume=120.0, distance=2.0, snr_db=10.0, talkers=3)
    got = [measured_rt60(impulse_response(room, np.random.default_rng(s))) for s in range(5)]
    # the mid band dominates the energy; the high band decays faster, so the broadband T20 sits a
    # little below the nominal figure
    assert 0.8 * rt60 < float(np.median(got)) < 1.1 * rt60, got


@pytest.mark.parametrize("distance", [0.5, 1.0, 3.0])
def test_direct_to_reverberant_ratio_follows_the_critical_distance(distance: float) -> None:
    room = Room(rt60=0.6, volume=100.0, distance=distance, snr_db=10.0, talkers=3)
    h = impulse_response(room, np.random.default_rng(1)).astype(np.float64)
    t0 = int(np.argmax(np.abs(h)))
    direct = h[t0] ** 2
    reverb = np.sum(h**2) - direct
    want = (room.critical_distance / distance) ** 2
    assert direct / reverb == pytest.approx(want, rel=0.05)


def test_mix_lands_at_the_requested_snr() -> None:
    rng = np.random.default_rng(3)
    speech = np.sin(np.linspace(0, 2000, 48_000))
    noise = pink_noise(48_000, rng)
    out = mix_at_snr(speech, noise, 7.5, float(np.mean(speech**2)))
    snr = 10 * np.log10(np.mean(speech**2) / np.mean((out - speech) ** 2))
    assert snr == pytest.approx(7.5, abs=0.01)


def test_rooms_are_seeded_by_seed_and_name_not_order() -> None:
    a = draw_room(clip_rng(3, "03-01-05-01-01-01-19.flac"))
    assert a == draw_room(clip_rng(3, "03-01-05-01-01-01-19.flac"))
    assert a != draw_room(clip_rng(4, "03-01-05-01-01-01-19.flac"))
    assert a != draw_room(clip_rng(3, "03-01-05-01-01-01-20.flac"))
    rooms = [draw_room(clip_rng(0, f"{i}.wav")) for i in range(300)]
    assert all(EVAL_RANGES.rt60[0] <= r.rt60 <= EVAL_RANGES.rt60[1] for r in rooms)
    assert all(EVAL_RANGES.snr_db[0] <= r.snr_db <= EVAL_RANGES.snr_db[1] for r in rooms)
    assert {snr_bucket(r.snr_db) for r in rooms} == {"5-8 dB", "8-11 dB", "11-15 dB"}


def test_room_version_takes_babble_from_other_speakers_only() -> None:
    rng = np.random.default_rng(0)
    y = (0.3 * np.sin(np.linspace(0, 3000, 40_000))).astype(np.float32)
    same = ("b.wav", "07", np.full(30_000, 0.5, np.float32))  # the speaker's own voice: never babble
    pool = [same, ("c.wav", "08", rng.standard_normal(30_000).astype(np.float32))]
    wet, room = room_version(y, "a.wav", "07", pool, seed=5)
    again, _ = room_version(y, "a.wav", "07", pool, seed=5)
    assert wet.shape == y.shape and wet.dtype == np.float32 and np.array_equal(wet, again)
    assert np.max(np.abs(wet)) <= 0.9 + 1e-6 and 5 <= room.snr_db <= 15
    alone, _ = room_version(y, "a.wav", "07", [same], seed=5)  # no other speaker: pink noise only
    assert not np.array_equal(alone, wet)


def test_folder_names_of_other_corpora() -> None:
    assert folder_label("Fear") == ("fearful", "")
    assert folder_label("OAF_Fear") == ("fearful", "OAF")
    assert folder_label("YAF_pleasant_surprised") == ("surprised", "YAF")
    assert folder_label("boredom") is None and folder_label("notes") is None


def test_codec_roundtrip_keeps_length_and_the_signal() -> None:
    """Training's camera codecs (AAC, Opus, G.711 µ-law through PyAV): same length, same tone."""
    from export.speech_room import _CODECS, codec_roundtrip

    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(32_000) / 16_000)).astype(np.float32)
    for codec in _CODECS:
        z = codec_roundtrip(y, codec, 32_000)
        assert z.shape == y.shape and z.dtype == np.float32
        assert np.corrcoef(z[2_000:], y[2_000:])[0, 1] > 0.99, codec
