"""The ``emostream`` command: run | check-config | bench | demo, plus the tools of ``cli_tools``.

Logging is one line per message; errors a user can fix (bad config, missing model, unreadable
source) are printed as one line without a traceback. ``--json`` commands print one JSON object as
the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import Config, ConfigError, load, parse
from .runtime import ModelError
from .spool import SpoolError

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger("emostream")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def camera_id_for(uri: str, taken: set[str]) -> str:
    """A readable, unique camera id for a ``--source`` URI (file stem, 'webcam0', 'rtsp1', ...)."""
    from .video import source_kind

    kind = source_kind(uri)
    base = Path(uri).stem if kind == "file" else ("webcam" + uri.strip() if kind == "webcam" else kind)
    base = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in base)[:56] or "cam"
    cid, n = base, 1
    while cid in taken:
        cid, n = f"{base}-{n}", n + 1
    taken.add(cid)
    return cid


def build_config(
    path: str | None, sources: list[str], redis_url: str | None, audio: Sequence[str] = (), **camera: Any
) -> Config:
    """Load ``path`` (or the defaults) and add a camera per ``--source``, an audio source per
    ``--audio`` (stand-alone) and the ``--redis-url``."""
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
    return parse(data, env={})


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_pipeline(
    cfg: Config,
    seconds: float = 0.0,
    on_start: Callable[[Pipeline], None] | None = None,
    before_stop: Callable[[], object] | None = None,
) -> dict[str, object]:
    """Run until every source ended, a signal arrives or ``seconds`` pass; returns the summary.

    ``on_start`` sees the started pipeline; ``before_stop`` runs before it is stopped (the demo uses
    them to read events back from Redis while it still runs).
    """
    from .pipeline import Pipeline

    if not [c for c in cfg.cameras if c.enabled] and not [a for a in cfg.audio if a.enabled]:
        raise ConfigError("cameras: no camera or audio source configured (pass --source or --audio)")
    stop = threading.Event()
    _install_signals(stop)
    pipe = Pipeline(cfg)
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


def cmd_run(args: argparse.Namespace) -> int:
    cfg = build_config(args.config, args.source, args.redis_url, audio=args.audio)
    setup_logging(args.log_level or cfg.log_level)
    run_pipeline(cfg, seconds=args.seconds)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load(args.config)
    print(f"{args.config}: ok ({len(cfg.cameras)} cameras)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    setup_logging(args.log_level or "WARNING")
    result = run_bench(args.source, repeat=args.repeat, redis_url=args.redis_url, config=args.config)
    if not args.json:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    print(json.dumps(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    setup_logging(args.log_level or "INFO")
    return run_demo(seconds=args.seconds, sources=args.source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emostream", description="Emotion events from cameras, to Redis.")
    parser.add_argument("--version", action="version", version=f"emostream {__version__}")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)
    from .cli_tools import add_tool_commands

    p = sub.add_parser("run", help="run the daemon until SIGTERM/SIGINT or until every file source ended")
    p.add_argument("config", nargs="?", help="YAML config file (default: embedded defaults)")
    p.add_argument("--source", action="extend", nargs="+", default=[], metavar="URI", help="add cameras")
    p.add_argument(
        "--audio", action="extend", nargs="+", default=[], metavar="URI", help="add audio: mic[:N], file, URL"
    )
    p.add_argument("--redis-url", help="overrides redis.url")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0: never)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate a config file; exit 2 with each error's field path")
    p.add_argument("config")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("bench", help="analyse every frame of file sources through the whole path")
    p.add_argument("config", nargs="?", help="YAML config whose models and settings to use (cameras ignored)")
    p.add_argument("--source", action="extend", nargs="+", required=True, metavar="URI")
    p.add_argument("--repeat", type=int, default=1, help="play each file this many times")
    p.add_argument("--redis-url", help="a Redis to publish to (default: a private one)")
    p.add_argument("--json", action="store_true", help="print only the JSON result")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="run on the webcam, the shared clips or a synthesised clip; print events")
    p.add_argument("--source", action="extend", nargs="+", default=[], metavar="URI")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0: never)")
    p.set_defaults(func=cmd_demo)

    add_tool_commands(sub)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"emostream: config error: {line}", file=sys.stderr)
        return 2
    except (ModelError, SpoolError) as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
