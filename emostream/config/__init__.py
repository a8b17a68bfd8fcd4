"""Configuration: the one YAML file, environment overrides, field-path errors.

The models are in :mod:`emostream.config.models` (re-exported here). :func:`load` turns any problem
into a :class:`~emostream.errors.ConfigError` whose lines each start with the dotted path of the
offending field. Secrets come from the environment rather than the file: ``EMOSTREAM_REDIS_URL``
overrides ``redis.url`` and ``EMOSTREAM_CAMERA_<ID>_URL`` overrides that camera's ``url``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from emostream.config.audio import AudioSourceConfig, SpeakerConfig, VoiceConfig
from emostream.config.models import (
    CameraConfig,
    ClassifierConfig,
    Config,
    DebounceConfig,
    DetectorConfig,
    MetricsConfig,
    MqttConfig,
    RedisConfig,
    RuntimeConfig,
    ShardConfig,
    SnapshotConfig,
    TrackerConfig,
)
from emostream.errors import ConfigError
from emostream.redact import register

__all__ = [
    "AudioSourceConfig",
    "CameraConfig",
    "ClassifierConfig",
    "Config",
    "ConfigError",
    "DebounceConfig",
    "DetectorConfig",
    "MetricsConfig",
    "MqttConfig",
    "RedisConfig",
    "RuntimeConfig",
    "ShardConfig",
    "SnapshotConfig",
    "SpeakerConfig",
    "TrackerConfig",
    "VoiceConfig",
    "load",
    "parse",
]


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _env_overrides(data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    for section in ("redis", "mqtt"):  # secrets stay out of the file: EMOSTREAM_REDIS_URL, _MQTT_URL
        value = env.get(f"EMOSTREAM_{section.upper()}_URL")
        if value:
            data.setdefault(section, {})
            if isinstance(data[section], dict):
                data[section]["url"] = value
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


def _register_urls(data: dict[str, Any]) -> None:
    """Hand every URL of the document to :func:`emostream.redact.register`."""
    groups = [data.get("cameras"), data.get("audio"), [data.get("redis"), data.get("mqtt")]]
    for group in groups:
        for item in group if isinstance(group, list) else []:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                register(item["url"])


def parse(data: Any, env: dict[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document (``None`` means an empty file)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("<root>: must be a mapping of settings")
    data = _env_overrides(data, dict(os.environ) if env is None else env)
    _register_urls(data)  # before validation: an invalid config's error must not leak them either
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
