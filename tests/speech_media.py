"""Real test media for the audio tests: RAVDESS speech with silences, as WAV or muxed under a shared clip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emostream.analysis.voice.features import SAMPLE_RATE, load_audio, trim

SR = SAMPLE_RATE


def ravdess_clip(shared: Path, actor: int, emotion: int, n: int = 0) -> Path:
    paths = sorted((shared / "data" / "ravdess" / f"Actor_{actor:02d}").glob(f"03-01-{emotion:02d}-*"))
    return paths[n]


def speech_track(shared: Path, silence: float = 4.0) -> np.ndarray:
    """16 kHz mono: 1 s silence, two angry clips of actor 19, ``silence`` s, two disgust ones, 1 s silence."""
    quiet = np.zeros(int(silence * SR), np.float32)
    parts = [np.zeros(SR, np.float32)]
    # each clip trimmed of its own leading and trailing room tone, so the two of a pair make one
    # utterance for any VAD (their silences together would otherwise fill a whole window)
    parts += [trim(load_audio(ravdess_clip(shared, 19, 5, i))) for i in (4, 5)]
    parts.append(quiet)
    parts += [trim(load_audio(ravdess_clip(shared, 19, 7, i))) for i in (4, 5)]
    parts.append(np.zeros(SR, np.float32))
    return np.concatenate(parts)


def write_wav(path: Path, y: np.ndarray, rate: int = SR, channels: int = 1) -> Path:
    """``y`` (16 kHz mono) written at ``rate`` with ``channels`` identical channels (16-bit PCM)."""
    if rate != SR:
        import librosa

        y = librosa.resample(y, orig_sr=SR, target_sr=rate)
    data = np.repeat(y[:, None], channels, axis=1) if channels > 1 else y
    sf.write(str(path), data, rate, subtype="PCM_16")
    return path


def mux_video(path: Path, gif: Path, wav: Path) -> Path:
    """An MP4 with the (looped) GIF as H.264/MPEG-4 video and the WAV as AAC stereo 44.1 kHz audio."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (make test installs it)")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(gif),
         "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p",
         "-r", "10", "-c:a", "aac", "-ar", "44100", "-ac", "2", "-shortest", str(path)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path
