"""The pydantic models of the YAML file: every field with a description, unknown keys rejected,
every model frozen (a config is shared by every thread and never changes while the daemon runs)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from emostream.config.audio import AudioSourceConfig, SpeakerConfig, VoiceConfig
from emostream.config.base import ConfigModel, SourceId
from emostream.keys import CHANNEL_PREFIX, DISCOVERY_PREFIX, MQTT_PREFIX, STREAM

__all__ = [
    "CameraConfig",
    "ClassifierConfig",
    "Config",
    "DebounceConfig",
    "DetectorConfig",
    "MetricsConfig",
    "MqttConfig",
    "RedisConfig",
    "RuntimeConfig",
    "ShardConfig",
    "SnapshotConfig",
    "TrackerConfig",
]


class CameraConfig(ConfigModel):
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


class DetectorConfig(ConfigModel):
    kind: Literal["yunet", "blazeface"] = Field(
        "yunet", description="Face detector: yunet (default) or blazeface."
    )
    model: str | None = Field(None, description="ONNX file; empty means the shipped default for `kind`.")
    score_threshold: float | None = Field(None, gt=0, lt=1, description="Minimum face score.")
    min_face: int | None = Field(
        None,
        ge=1,
        description="Faces narrower (px) are ignored; empty: 1/20 of the frame height, >= 16 (32 and up: "
        "faster, and the faces the emotion model reads best).",
    )
    scan_interval: float = Field(
        0.5,
        ge=0,
        le=10,
        description="Seconds of media time between two searches of the whole frame; on the frames between, "
        "only the neighbourhood of each live track is searched (0: the whole frame on every analysed "
        "frame; yunet only).",
    )


class ClassifierConfig(ConfigModel):
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
    batch_wait_ms: float = Field(
        4.0,
        ge=0,
        le=100,
        description="Cameras' faces share one model call: the longest a camera waits for the others' "
        "(0: no batching; a camera alone never waits).",
    )
    max_batch: int = Field(32, ge=1, le=1024, description="Most faces in one batched model call.")


class TrackerConfig(ConfigModel):
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


class DebounceConfig(ConfigModel):
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


class RedisConfig(ConfigModel):
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


class MqttConfig(ConfigModel):
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


class RuntimeConfig(ConfigModel):
    providers: list[str] = Field(
        default_factory=list,
        description="onnxruntime execution providers in order of preference, e.g. [CUDAExecutionProvider, "
        "CPUExecutionProvider]; empty: the CPU. The CPU is always the last fallback.",
    )


class MetricsConfig(ConfigModel):
    enabled: bool = Field(True, description="Serve /metrics, /healthz and /readyz.")
    host: str = Field("127.0.0.1", description="Bind address; 0.0.0.0 exposes it to the network.")
    port: int = Field(9108, ge=0, le=65535, description="TCP port (0 picks a free one).")


class SnapshotConfig(ConfigModel):
    enabled: bool = Field(
        False, description="Write a JPEG of the frame of each emotion.changed event (debugging)."
    )
    dir: str = Field("snapshots", description="Folder for snapshots.")
    blur: bool = Field(True, description="Pixelate every face in a snapshot; false keeps faces recognisable.")


class ShardConfig(ConfigModel):
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


class Config(ConfigModel):
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
