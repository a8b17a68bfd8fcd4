"""Configuration: pydantic models for the one YAML file, environment overrides, field-path errors.

Every field has a description, unknown keys are rejected, and :func:`load` turns any problem into a
:class:`ConfigError` whose lines each start with the dotted path of the offending field.
Secrets come from the environment rather than the file: ``EMOSTREAM_REDIS_URL`` overrides
``redis.url`` and ``EMOSTREAM_CAMERA_<ID>_URL`` overrides that camera's ``url``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from emostream.errors import ConfigError
from emostream.keys import CHANNEL_PREFIX, STREAM

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


class DetectorConfig(_Model):
    kind: Literal["blazeface", "yunet"] = Field("blazeface", description="Face detector family.")
    model: str | None = Field(None, description="ONNX file; empty means the shipped default for `kind`.")
    score_threshold: float | None = Field(None, gt=0, lt=1, description="Minimum face score.")
    min_face: int = Field(16, ge=1, description="Ignore faces narrower than this many pixels.")


class ClassifierConfig(_Model):
    model: str | None = Field(None, description="Face-emotion ONNX file; empty means the shipped default.")


class TrackerConfig(_Model):
    iou_threshold: float = Field(0.3, ge=0, lt=1, description="Minimum box IoU to continue a track.")
    max_gap: float = Field(
        1.5, gt=0, description="Seconds of media time without a match before a track is lost."
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


class Config(_Model):
    cameras: list[CameraConfig] = Field(default_factory=list, description="Video sources to analyse.")
    audio: list[AudioSourceConfig] = Field(
        default_factory=list, description="Audio sources (microphones, audio tracks, sound files)."
    )
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    debounce: DebounceConfig = Field(default_factory=DebounceConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
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


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _env_overrides(data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    if env.get("EMOSTREAM_REDIS_URL"):
        data.setdefault("redis", {})
        if isinstance(data["redis"], dict):
            data["redis"]["url"] = env["EMOSTREAM_REDIS_URL"]
    for name in ("index", "count"):
        value = env.get(f"EMOSTREAM_SHARD_{name.upper()}")
        if value:
            data.setdefault("shard", {})
            if isinstance(data["shard"], dict):
                data["shard"][name] = value
    cameras = data.get("cameras")
    for cam in cameras if isinstance(cameras, list) else []:  # a wrong type is reported by validation
        if isinstance(cam, dict) and isinstance(cam.get("id"), str):
            key = "EMOSTREAM_CAMERA_" + re.sub(r"[^A-Za-z0-9]", "_", cam["id"]).upper() + "_URL"
            if env.get(key):
                cam["url"] = env[key]
    return data


def parse(data: Any, env: dict[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document (``None`` means an empty file)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("<root>: must be a mapping of settings")
    data = _env_overrides(data, dict(os.environ) if env is None else env)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load(path: str | Path | None, env: dict[str, str] | None = None) -> Config:
    """Read and validate a YAML config file; ``None`` gives the embedded defaults."""
    if path is None:
        return parse({}, env)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"<file>: cannot read {p}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"<file>: {p} is not valid YAML{where}") from None
    return parse(data, env)
