"""The pydantic models of the YAML file: every field with a description, unknown keys rejected,
every model frozen (a config is shared by every thread and never changes while the daemon runs)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from emostream.keys import CHANNEL_PREFIX, DISCOVERY_PREFIX, MQTT_PREFIX, STREAM

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _check_id(v: str) -> str:
    if not _ID.match(v):
        raise ValueError("must be 1-64 characters of letters, digits, '_', '-' or '.'")
    return v


SourceId = Annotated[str, AfterValidator(_check_id)]
"""A camera or audio source id: it appears in events, channel names and metric labels."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_Model):
    id: SourceId = Field(description="Stable camera name used in events, channels and metric labels.")
    url: str = Field(description="Video file path, webcam index (e.g. '0') or rtsp:// / http:// URL.")
    fps: float = Field(
        5.0,
        ge=0,
        le=240,
        description="Frames per second to analyse, sampled by media time; 0 analyses every frame.",
    )
    realtime: bool = Field(False, description="File sources only: pace decoding at the file's own speed.")
    loop: bool = Field(False, description="File sources only: start again at the end instead of stopping.")
    rtsp_transport: Literal["auto", "tcp", "udp"] = Field(
        "auto", description="RTSP only: RTP over the TCP connection, over UDP, or UDP falling back to TCP."
    )
    watchdog: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Live sources: seconds without a frame before the source is reopened.",
    )
    queue_size: int = Field(4, ge=1, le=1000, description="Frames buffered between capture and analysis.")
    skip_nonref: bool | None = Field(
        None,
        description="Do not decode frames no other frame refers to (B-frames); empty: when `fps` is at "
        "most half the stream's rate (a third less decoding for H.264 from x264).",
    )
    decode_threads: int = Field(
        1, ge=1, le=16, description="FFmpeg decoding threads (only where cores are spare)."
    )
    enabled: bool = Field(True, description="Set false to keep a camera in the file without running it.")


class AudioSourceConfig(_Model):
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


class VoiceConfig(_Model):
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


class DetectorConfig(_Model):
    kind: Literal["yunet", "blazeface"] = Field(
        "yunet", description="Face detector: yunet (default) or blazeface."
    )
    model: str | None = Field(None, description="ONNX file; empty means the shipped default for `kind`.")
    score_threshold: float | None = Field(None, gt=0, lt=1, description="Minimum face score.")
    min_face: int | None = Field(
        None, ge=1, description="Faces narrower (px) are ignored; empty: 1/20 of the frame height, >= 16."
    )


class ClassifierConfig(_Model):
    model: str | None = Field(None, description="Face-emotion ONNX file; empty means the shipped default.")
    track_interval: float = Field(
        0.4,
        ge=0,
        le=60,
        description="Seconds of media time between two classifications of one track (a new track is "
        "classified at once).",
    )
    classify_every_frame: bool = Field(
        False, description="Strict mode: classify every face of every analysed frame."
    )


class TrackerConfig(_Model):
    iou_threshold: float = Field(0.3, ge=0, lt=1, description="Minimum box IoU to continue a track.")
    max_gap: float = Field(
        1.5, gt=0, description="Seconds of media time without a match before a track is lost."
    )
    confirm_hits: int = Field(
        2, ge=1, le=100, description="A new track is published once a face continued it on this many frames"
    )
    confirm_frames: int = Field(
        3, ge=1, le=1000, description="... of its first this many analysed frames; else it is dropped unseen."
    )


class DebounceConfig(_Model):
    half_life: float = Field(
        0.6, gt=0, description="Seconds for the smoothing weight of an old score to halve."
    )
    enter: float = Field(
        0.5, gt=0, le=1, description="Smoothed probability a new emotion needs to take over."
    )
    margin: float = Field(0.1, ge=0, le=1, description="How far the new emotion must lead the current one.")
    min_dwell: float = Field(
        1.0, ge=0, description="Seconds the new emotion must stay on top before it is emitted."
    )

    @model_validator(mode="after")
    def _sane(self) -> DebounceConfig:
        if self.enter + self.margin > 1.5:
            raise ValueError("enter + margin leaves no emotion able to win")
        return self


class RedisConfig(_Model):
    url: str | None = Field(
        None,
        description="redis:// or rediss:// URL (AUTH and TLS via the URL); empty starts a private server.",
    )
    stream: str = Field(STREAM, description="Stream key every event is XADDed to.")
    maxlen: int = Field(100_000, ge=1, description="Approximate MAXLEN of the stream.")
    channel_prefix: str = Field(CHANNEL_PREFIX, description="PUBLISH channel is this prefix + camera id.")
    buffer: int = Field(
        10_000, ge=1, description="Events held in memory before they go to Redis or the spool."
    )
    spool: bool = Field(
        True, description="Keep events on disk while Redis is unreachable (not for a private Redis)."
    )
    spool_dir: str | None = Field(
        None, description="Spool folder; empty means one per destination under $EMOSTREAM_STATE_DIR."
    )
    spool_max_mb: float = Field(256, gt=0, description="Size cap of the spool; past it the oldest events go.")


class MqttConfig(_Model):
    url: str | None = Field(
        None,
        description="mqtt://user:pass@host:1883/ or mqtts:// (TLS); empty: no MQTT. Or $EMOSTREAM_MQTT_URL.",
    )
    topic_prefix: str = Field(
        MQTT_PREFIX, description="Events on <prefix>/<camera>/events, state beside them."
    )
    qos: Literal[0, 1, 2] = Field(1, description="MQTT QoS of every message.")
    discovery: bool = Field(True, description="Publish Home Assistant MQTT discovery configs (retained).")
    discovery_prefix: str = Field(DISCOVERY_PREFIX, description="Home Assistant's discovery prefix.")
    tls_ca: str | None = Field(None, description="mqtts://: CA bundle to trust (default: the system's).")
    buffer: int = Field(10_000, ge=1, description="Messages held while the broker is unreachable.")


class RuntimeConfig(_Model):
    providers: list[str] = Field(
        default_factory=list,
        description="onnxruntime execution providers in order of preference, e.g. [CUDAExecutionProvider, "
        "CPUExecutionProvider]; empty: the CPU. The CPU is always the last fallback.",
    )


class MetricsConfig(_Model):
    enabled: bool = Field(True, description="Serve /metrics, /healthz and /readyz.")
    host: str = Field("127.0.0.1", description="Bind address; 0.0.0.0 exposes it to the network.")
    port: int = Field(9108, ge=0, le=65535, description="TCP port (0 picks a free one).")


class SnapshotConfig(_Model):
    enabled: bool = Field(
        False, description="Write a JPEG of the frame of each emotion.changed event (debugging)."
    )
    dir: str = Field("snapshots", description="Folder for snapshots.")
    blur: bool = Field(True, description="Pixelate every face in a snapshot; false keeps faces recognisable.")


class ShardConfig(_Model):
    index: int | None = Field(
        None,
        ge=0,
        description="This daemon's shard (0-based); empty: EMOSTREAM_SHARD_INDEX, else the host name's "
        "'-N' suffix (StatefulSet pods).",
    )
    count: int = Field(
        1, ge=1, le=4096, description="Daemons sharing the camera list; each runs the cameras hashed to it."
    )

    @model_validator(mode="after")
    def _index_below_count(self) -> ShardConfig:
        if self.index is not None and self.index >= self.count:
            raise ValueError(f"index {self.index} must be below count {self.count}")
        return self


class SpeakerConfig(_Model):
    """Who speaks: attribution of an audio source's speech to a face track of the camera it is tied to."""

    enabled: bool = Field(True, description="Attribute the speech of audio sources that name a `camera`.")
    mouth_rate: float = Field(
        10.0, gt=0, le=60, description="Mouth measurements per second per face track (media time)."
    )
    min_sync: float = Field(
        0.4,
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
        description="Seconds the voice analysis waits for the camera to reach a window's end.",
    )
    voice_weight: float = Field(
        0.5, ge=0, le=1, description="Prior weight of the voice in the fused emotion."
    )


class Config(_Model):
    cameras: list[CameraConfig] = Field(default_factory=list, description="Video sources to analyse.")
    audio: list[AudioSourceConfig] = Field(
        default_factory=list, description="Audio sources (microphones, audio tracks, sound files)."
    )
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    speaker: SpeakerConfig = Field(default_factory=SpeakerConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    debounce: DebounceConfig = Field(default_factory=DebounceConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    snapshots: SnapshotConfig = Field(default_factory=SnapshotConfig)
    shard: ShardConfig = Field(default_factory=ShardConfig)
    threads: int = Field(1, ge=1, le=64, description="onnxruntime threads per model session.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log verbosity.")

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"duplicate camera id {cam.id!r}")
            seen.add(cam.id)
        audio_ids: set[str] = set()
        for src in self.audio:
            if src.id in audio_ids:
                raise ValueError(f"duplicate audio id {src.id!r}")
            audio_ids.add(src.id)
            if src.camera is not None and src.camera not in seen:
                raise ValueError(f"audio {src.id!r}: camera {src.camera!r} is not a configured camera")
        return self
