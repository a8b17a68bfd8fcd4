"""The ``emostream`` tools beside the daemon: tail | dashboard | report | eval.

They share the daemon's conventions (one-line errors, ``--json`` prints one JSON object last) and
import their optional extras only when run, so ``emostream run`` never pays for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emostream.cli.common import missing_extra, redis_url, setup_logging
from emostream.keys import STREAM, TAIL_GROUP

__all__ = ["add_tool_commands"]


def cmd_tail(args: argparse.Namespace) -> int:
    from emostream.client import tail_command

    setup_logging(args.log_level or "WARNING")
    return tail_command(
        redis_url(args),
        cluster=args.cluster,
        stream=args.stream,
        group=args.group,
        consumer=args.consumer,
        from_start=args.from_start,
        claim_idle=args.claim_idle,
        as_json=args.json,
        cameras=set(args.camera) or None,
        count=args.count,
        seconds=args.seconds or None,
    )


def cmd_dashboard(args: argparse.Namespace) -> int:
    if missing_extra("dashboard", "starlette", "uvicorn"):
        return 1
    from emostream.tools.dashboard import serve
    from emostream.tools.dashboard.auth import load_credentials

    try:
        auth = load_credentials(args.auth_file)
    except ValueError as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level or "INFO")
    metrics = args.metrics_url or ["http://127.0.0.1:9108"]
    serve(redis_url(args), args.host, args.port, metrics, args.stream, args.window, args.bucket, auth)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if missing_extra("report", "matplotlib", "tqdm"):
        return 1
    from emostream.tools.report import make_report

    setup_logging(args.log_level or "WARNING")
    out = make_report(
        args.video,
        args.out,
        config=args.config,
        fps=args.fps,
        annotate=args.annotate,
        audio=not args.no_audio,
    )
    for name, path in out.items():
        print(f"{name:>10}: {path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "WARNING")
    if args.what == "speech":
        from emostream.tools.evaluate.speech import cmd_eval_speech

        return cmd_eval_speech(Path(args.dir), args.model, args.json, args.threads, args.room)
    from emostream.tools.evaluate import eval_faces

    return eval_faces(
        Path(args.dir),
        args.model,
        threads=args.threads,
        margin=args.margin,
        detect=args.detect,
        face_scale=args.face_scale,
        limit=args.limit,
        votes=Path(args.votes) if args.votes else None,
        confusion=Path(args.confusion_png) if args.confusion_png else None,
        as_json=args.json,
    )


def add_tool_commands(sub: argparse._SubParsersAction) -> None:
    """Register the tool subcommands on the main parser's ``sub``."""
    p = sub.add_parser("dashboard", help="live web page of the events and the daemon's health")
    p.add_argument("--redis-url", help="default: $EMOSTREAM_REDIS_URL, else redis://localhost:6379/0")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--stream", default=STREAM, help="stream key the daemon XADDs to")
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
    p.add_argument(
        "--no-audio",
        action="store_true",
        help="ignore the video's audio track (no voice, speaker, fused rows)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("tail", help="read events through a Redis consumer group (XREADGROUP + XACK)")
    p.add_argument("--redis-url", help="default: $EMOSTREAM_REDIS_URL, else redis://localhost:6379/0")
    p.add_argument("--stream", default=STREAM)
    p.add_argument("--group", default=TAIL_GROUP, help="consumer group (created with MKSTREAM)")
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
    p.add_argument(
        "--votes",
        metavar="CSV",
        help="faces: also score against FER+ crowd votes (ferplus_votes.csv) by the majority rule",
    )
    p.add_argument(
        "--room",
        type=int,
        metavar="SEED",
        help="speech: also score every recording in a seeded simulated room (reverberation, babble, noise)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=cmd_eval)
