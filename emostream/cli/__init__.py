"""The ``emostream`` command: argument parsing only; every command calls a library function.

Logging is one line per message; errors a user can fix (bad config, missing model, unreadable
source) are :class:`~emostream.errors.EmostreamError` and print as one line without a traceback,
with the error's exit status (2: bad input, 1: environment). ``--json`` commands print one JSON
object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from emostream import __version__
from emostream.cli.common import setup_logging
from emostream.cli.tools import add_tool_commands
from emostream.config import load
from emostream.errors import ConfigError, EmostreamError
from emostream.redact import redact

__all__ = ["main"]

log = logging.getLogger("emostream")


def cmd_run(args: argparse.Namespace) -> int:
    from emostream.daemon.run import build_config, run

    cfg = build_config(args.config, args.source, args.redis_url, audio=args.audio, mqtt_url=args.mqtt_url)
    setup_logging(args.log_level or cfg.log_level)
    run(cfg, seconds=args.seconds, handle_signals=True)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load(args.config)
    print(f"{args.config}: ok ({len(cfg.cameras)} cameras)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from emostream.tools.bench import run_bench

    setup_logging(args.log_level or "WARNING")
    result = run_bench(
        args.source,
        repeat=args.repeat,
        redis_url=args.redis_url,
        config=args.config,
        strict=args.strict,
        cameras=args.cameras,
        batch=not args.no_batch,
    )
    if not args.json:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    print(json.dumps(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from emostream.tools.demo import run_demo

    setup_logging(args.log_level or "INFO")
    return run_demo(seconds=args.seconds, sources=args.source)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emostream", description="Emotion events from cameras, to Redis.")
    parser.add_argument("--version", action="version", version=f"emostream {__version__}")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the daemon until SIGTERM/SIGINT or until every file source ended")
    p.add_argument("config", nargs="?", help="YAML config file (default: embedded defaults)")
    p.add_argument("--source", action="extend", nargs="+", default=[], metavar="URI", help="add cameras")
    p.add_argument(
        "--audio", action="extend", nargs="+", default=[], metavar="URI", help="add audio: mic[:N], file, URL"
    )
    p.add_argument("--redis-url", help="overrides redis.url")
    p.add_argument(
        "--mqtt-url", help="also publish to MQTT: mqtt://[user:pass@]host[:port] (mqtts:// for TLS)"
    )
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
    p.add_argument("--strict", action="store_true", help="classify every face of every frame")
    p.add_argument("--cameras", type=int, default=1, help="cameras playing each source at once")
    p.add_argument("--no-batch", action="store_true", help="no batching of several cameras' faces")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="run on the webcam, the shared clips or a synthesised clip; print events")
    p.add_argument("--source", action="extend", nargs="+", default=[], metavar="URI")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0: never)")
    p.set_defaults(func=cmd_demo)

    add_tool_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for line in redact(str(exc)).splitlines():
            print(f"emostream: config error: {line}", file=sys.stderr)
        return exc.exit_code
    except EmostreamError as exc:
        print(f"emostream: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
