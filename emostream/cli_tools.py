"""The ``emostream`` tools beside the daemon: tail | dashboard | report | eval.

They share the daemon's conventions (one-line errors, ``--json`` prints one JSON object last) and
import their optional extras only when run, so ``emostream run`` never pays for them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from .cli import setup_logging

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


def _redis_url(args: argparse.Namespace) -> str:
    """``--redis-url``, else ``$EMOSTREAM_REDIS_URL``, else a local Redis."""
    return args.redis_url or os.environ.get("EMOSTREAM_REDIS_URL") or DEFAULT_REDIS_URL


def _missing_extra(extra: str, *modules: str) -> bool:
    """True (after a one-line hint) when a module of the optional extra ``extra`` is not installed."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            print(
                f"emostream: {extra} needs: pip install 'emostream[{extra}]' (no module {name!r})",
                file=sys.stderr,
            )
            return True
    return False


def cmd_tail(args: argparse.Namespace) -> int:
    import redis

    from .client import EventConsumer, connect, tail

    setup_logging(args.log_level or "WARNING")
    url = _redis_url(args)
    try:
        consumer = EventConsumer(
            connect(url, cluster=args.cluster),
            args.stream,
            args.group,
            args.consumer,
            start="0" if args.from_start else "$",
            claim_idle_ms=int(args.claim_idle * 1000),
        )
        tail(consumer, args.json, set(args.camera) or None, args.count, args.seconds or None)
    except redis.RedisError as exc:
        from .video import redact

        print(f"emostream: redis {redact(url)}: {redact(str(exc))}", file=sys.stderr)
        return 1
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    if _missing_extra("dashboard", "starlette", "uvicorn"):
        return 1
    from .dashboard import serve
    from .dashboard.auth import load_credentials

    try:
        auth = load_credentials(args.auth_file)
    except ValueError as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level or "INFO")
    url = _redis_url(args)
    metrics = args.metrics_url or ["http://127.0.0.1:9108"]
    serve(url, args.host, args.port, metrics, args.stream, args.window, args.bucket, auth)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if _missing_extra("report", "matplotlib", "tqdm"):
        return 1
    from .report import ReportError, make_report

    setup_logging(args.log_level or "WARNING")
    try:
        out = make_report(
            args.video, args.out, config=args.config, fps=args.fps, annotate=args.annotate, progress=True
        )
    except ReportError as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 1
    for name, path in out.items():
        print(f"{name:>10}: {path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.what == "speech":
        from .evaluate_speech import cmd_eval_speech

        setup_logging(args.log_level or "WARNING")
        return cmd_eval_speech(Path(args.dir), args.model, args.json, args.threads)
    from .classify import FaceEmotionClassifier
    from .evaluate import confusion_png, evaluate

    setup_logging(args.log_level or "WARNING")
    clf = FaceEmotionClassifier(args.model, threads=args.threads, margin=args.margin)
    mode = "detect" if args.detect else "whole"
    try:
        report = evaluate(Path(args.dir), clf, mode=mode, face_scale=args.face_scale, limit=args.limit)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    if args.confusion_png:
        confusion_png(report, Path(args.confusion_png))
    if not args.json:
        print(report.text())
    print(json.dumps({"model": str(args.model or "default"), **report.as_dict()}))
    return 0


def add_tool_commands(sub: argparse._SubParsersAction) -> None:
    """Register the tool subcommands on the main parser's ``sub``."""
    p = sub.add_parser("dashboard", help="live web page of the events and the daemon's health")
    p.add_argument("--redis-url", help="default: $EMOSTREAM_REDIS_URL, else redis://localhost:6379/0")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--stream", default="emostream:events", help="stream key the daemon XADDs to")
    p.add_argument(
        "--metrics-url",
        action="append",
        metavar="URL",
        help="a daemon's metrics endpoint, repeatable (default http://127.0.0.1:9108)",
    )
    p.add_argument("--window", type=float, default=300.0, help="seconds of timeline shown")
    p.add_argument("--bucket", type=float, default=5.0, help="seconds per timeline bar")
    p.add_argument(
        "--auth-file",
        type=Path,
        metavar="PATH",
        help="require HTTP Basic auth: a file whose first line is user:password "
        "(or set $EMOSTREAM_DASHBOARD_AUTH); off by default",
    )
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("report", help="analyse a recorded video: events (JSONL, CSV), summary, plots")
    p.add_argument("video", help="video file (anything FFmpeg decodes)")
    p.add_argument("--out", help="output folder (default: ./<video name>-report)")
    p.add_argument("--config", help="YAML config whose models and settings to use (cameras ignored)")
    p.add_argument("--fps", type=float, default=0.0, help="frames analysed per second (default 0: every one)")
    p.add_argument("--annotate", action="store_true", help="also write annotated.mp4 with boxes and labels")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("tail", help="read events through a Redis consumer group (XREADGROUP + XACK)")
    p.add_argument("--redis-url", help="default: $EMOSTREAM_REDIS_URL, else redis://localhost:6379/0")
    p.add_argument("--stream", default="emostream:events")
    p.add_argument("--group", default="emostream-tail", help="consumer group (created with MKSTREAM)")
    p.add_argument("--consumer", help="consumer name within the group (default: host-pid)")
    p.add_argument("--from-start", action="store_true", help="a new group starts at the oldest entry")
    p.add_argument("--camera", action="extend", nargs="+", default=[], help="print only these cameras")
    p.add_argument("--claim-idle", type=float, default=60.0, help="seconds before others' pending are taken")
    p.add_argument("--cluster", action="store_true", help="the URL is a Redis Cluster node")
    p.add_argument("--json", action="store_true", help="one event JSON object per line")
    p.add_argument("--count", type=int, help="exit after printing this many events")
    p.add_argument("--seconds", type=float, default=0.0, help="exit after this many seconds (0: never)")
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("eval", help="accuracy of the face or speech model on labelled data (DIR/<emotion>/)")
    p.add_argument(
        "what", choices=["faces", "speech"], help="faces: images; speech: recordings (also RAVDESS)"
    )
    p.add_argument("dir", help="folder with one sub-folder per emotion (e.g. FER2013 test/)")
    p.add_argument("--model", help="ONNX face-emotion model (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print only the JSON result")
    p.add_argument("--confusion-png", metavar="PATH", help="also draw the confusion matrix as a PNG")
    p.add_argument("--detect", action="store_true", help="daemon path: paste into a frame, detect, crop")
    p.add_argument("--face-scale", type=float, default=2.0, help="--detect: face size factor in the frame")
    p.add_argument("--margin", type=float, help="--detect: crop margin (default: the model's)")
    p.add_argument("--limit", type=int, default=0, help="images per emotion (0: all)")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=cmd_eval)
