"""The audio side of the config: audio sources, the voice analysis and speaker attribution."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emostream.config.base import ConfigModel, SourceId

__all__ = ["AudioSourceConfig", "SpeakerConfig", "VoiceConfig"]


class AudioSourceConfig(ConfigModel):
    id: SourceId = Field(description="Stable audio source name for metric labels (and events if no camera).")
    url: str = Field(
        description="'mic' / 'mic:N' (PyAudio device), a WAV/FLAC file, or a video file / rtsp:// URL "
        "whose audio track is used."
    )
    camera: str | None = Field(
        None, description="Id of the camera this audio belongs to: the `camera` of its events; else `id`."
    )
    window: float = Field(
        3.0, ge=1.0, le=10.0, description="Seconds per analysed window (the shipped model was trained on 3)."
    )
    hop: float = Field(1.0, gt=0, le=30, description="Seconds between the starts of consecutive windows.")
    realtime: bool = Field(False, description="File sources only: deliver audio at its own pace.")
    loop: bool = Field(False, description="File sources only: start again at the end instead of stopping.")
    queue_size: int = Field(
        50, ge=1, le=10_000, description="Chunks of 0.1 s buffered between capture and analysis."
    )
    watchdog: float = Field(
        10.0, gt=0, le=3600, description="Streams: seconds without audio before the source is reopened."
    )
    enabled: bool = Field(True, description="Set false to keep a source in the file without running it.")


class VoiceConfig(ConfigModel):
    model: str | None = Field(None, description="Speech-emotion ONNX file; empty means the shipped default.")
    min_voiced: float = Field(
        0.1, gt=0, le=1, description="VAD: share of voiced frames a window needs to count as speech."
    )
    min_dbfs: float = Field(-65.0, le=0, description="VAD: quietest frame level (dBFS) that can be speech.")
    vad: Literal["silero", "pitch"] = Field(
        "silero", description="VAD: Silero's network (not fooled by music or hum) or the older voicing test."
    )
    min_prob: float = Field(
        0.5, gt=0, lt=1, description="VAD (silero): speech probability of a voiced chunk."
    )


class SpeakerConfig(ConfigModel):
    """Who speaks: attribution of an audio source's speech to a face track of the camera it is tied to."""

    enabled: bool = Field(True, description="Attribute the speech of audio sources that name a `camera`.")
    mouth_rate: float = Field(
        10.0, gt=0, le=60, description="Mouth measurements per second per face track (media time)."
    )
    min_face: float = Field(
        32.0,
        ge=0,
        description="Faces narrower (px) are not measured for speech: their lips are a few pixels, their "
        "mouth signal mostly noise, and noise correlates with a voice by chance.",
    )
    min_sync: float = Field(
        0.37,
        ge=0,
        le=1,
        description="Mouth-voice synchrony over a segment a track needs to be its speaker (about the 90th "
        "percentile of the best non-speaker's on calibration clips: export/measure_speaker.py).",
    )
    margin: float = Field(
        0.15, ge=0, le=1, description="Lead over the runner-up needed to pick or change a speaker."
    )
    wait: float = Field(
        2.0,
        ge=0,
        le=30,
        description="Seconds the voice analysis waits for a live camera to reach a window's end (a "
        "file read as fast as analysis goes is waited for as long as it takes).",
    )
    voice_weight: float = Field(
        0.5, ge=0, le=1, description="Prior weight of the voice in the fused emotion."
    )
