"""Running the daemon as a program: a config from a file plus command-line sources, and a run loop.

Library functions, not CLI: ``emostream run``, ``demo``, ``bench`` and ``report`` all build their
config with :func:`build_config` and run with :func:`run`. Signal handlers are installed only when
asked (``handle_signals``), so code that embeds a pipeline keeps its own.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emostream.config import Config, load, parse
from emostream.daemon.pipeline import Pipeline
from emostream.errors import ConfigError
from emostream.sinks import Sink
from emostream.sources.media import source_kind

__all__ = ["build_config", "camera_id_for", "run"]

log = logging.getLogger("emostream")


def camera_id_for(uri: str, taken: set[str]) -> str:
    """A readable, unique camera id for a ``--source`` URI (file stem, 'webcam0', 'rtsp1', ...)."""
    kind = source_kind(uri)
    base = Path(uri).stem if kind == "file" else ("webcam" + uri.strip() if kind == "webcam" else kind)
    base = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in base)[:56] or "cam"
    cid, n = base, 1
    while cid in taken:
        cid, n = f"{base}-{n}", n + 1
    taken.add(cid)
    return cid


def build_config(
    path: str | None,
    sources: list[str],
    redis_url: str | None,
    audio: Sequence[str] = (),
    mqtt_url: str | None = None,
    **camera: Any,
) -> Config:
    """Load ``path`` (or the defaults) and add a camera per ``--source``, an audio source per
    ``--audio`` (stand-alone), the ``--redis-url`` and the ``--mqtt-url``."""
    base = load(path)
    data = base.model_dump()
    taken = {c["id"] for c in data["cameras"]}
    for uri in sources:
        data["cameras"].append({"id": camera_id_for(uri, taken), "url": uri, **camera})
    taken_audio = {a["id"] for a in data["audio"]} | taken
    for uri in audio:
        mic = uri.strip().lower().startswith("mic")
        aid = camera_id_for(uri.replace(":", "") if mic else uri, taken_audio)
        data["audio"].append({"id": aid, "url": uri})
    if redis_url:
        data["redis"]["url"] = redis_url
    if mqtt_url:
        data["mqtt"]["url"] = mqtt_url
    return parse(data, env={})


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(
    cfg: Config,
    seconds: float = 0.0,
    on_start: Callable[[Pipeline], None] | None = None,
    before_stop: Callable[[], object] | None = None,
    sinks: Sequence[Sink] = (),
    handle_signals: bool = False,
    stop: threading.Event | None = None,
) -> dict[str, object]:
    """Run until every source ended, ``stop`` is set (by a signal with ``handle_signals``) or
    ``seconds`` pass; returns the summary.

    ``on_start`` sees the started pipeline; ``before_stop`` runs before it is stopped (the demo uses
    them to read events back from Redis while it still runs).
    """
    if not [c for c in cfg.cameras if c.enabled] and not [a for a in cfg.audio if a.enabled]:
        raise ConfigError("cameras: no camera or audio source configured (pass --source or --audio)")
    stop = stop or threading.Event()
    if handle_signals:
        _install_signals(stop)
    pipe = Pipeline(cfg, sinks=sinks)
    pipe.start()
    if on_start is not None:
        on_start(pipe)
    try:
        waited = 0.0
        while not stop.is_set():
            if pipe.wait(0.2):
                break
            waited += 0.2
            if seconds and waited >= seconds:
                break
        if before_stop is not None:
            before_stop()
    finally:
        summary = pipe.stop()
    log.info("stopped: %s", " ".join(f"{k}={v}" for k, v in summary.items()))
    return summary
