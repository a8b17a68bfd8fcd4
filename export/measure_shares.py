"""Which emotion leads the track time on real video, per face model: the before/after figure of a model.

Each clip (default: the six ``shared/media/*.gif``) runs through ``emostream report``'s pipeline (the
daemon's detector, tracker and debouncer, 5 analysed frames per second as a camera's default) once per
``--model``; the seconds of every track, split by the emotion that led it (the ``shares`` of each
``face.lost`` event times its dwell), are summed over all clips::

    .venv/bin/python -m export.measure_shares --model old.int8.onnx emostream_face_ferplus.int8.onnx

prints a table (seconds and share of track time per emotion and model) and one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml

from emostream.tools.report import make_report
from emostream.tools.report.tables import track_summary
from emostream.types import FACE_EMOTIONS
from export.measure_agreement import looped, shared_clips


def led_seconds(clips: list[Path], model: str, fps: float, loops: int = 1) -> dict[str, float]:
    """Seconds of track time led by each emotion over ``clips``, with the face model ``model``."""
    seconds = dict.fromkeys(FACE_EMOTIONS, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "cfg.yaml"
        cfg.write_text(yaml.safe_dump({"classifier": {"model": model}}))
        for original in clips:
            clip = looped(original, loops, Path(tmp))
            out = Path(tmp) / clip.stem
            files = make_report(clip, out, config=str(cfg), fps=fps, progress=False)
            events = [json.loads(line) for line in files["events"].read_text().splitlines()]
            for track in track_summary(events):
                for label, share in (track.get("shares") or {}).items():
                    seconds[label] += share * float(track.get("dwell") or 0.0)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", required=True, help="face-emotion ONNX files (bare names: models/)")
    ap.add_argument("--clip", nargs="+", type=Path, help="videos (default: shared/media/*.gif)")
    ap.add_argument("--fps", type=float, default=5.0, help="analysed frames per second (default 5)")
    ap.add_argument("--loops", type=int, default=1, help="play each clip this many times back to back")
    args = ap.parse_args()
    clips = args.clip or shared_clips()
    result = {m: led_seconds(clips, m, args.fps, args.loops) for m in args.model}
    print(f"{'emotion':<10}" + "".join(f"{Path(m).name[:34]:>36}" for m in args.model))
    for label in FACE_EMOTIONS:
        cells = []
        for m in args.model:
            total = sum(result[m].values()) or 1.0
            cells.append(f"{result[m][label]:>10.1f} s {result[m][label] / total:>6.1%}".rjust(36))
        print(f"{label:<10}" + "".join(cells))
    print(
        json.dumps(
            {"clips": [c.name for c in clips], "fps": args.fps, "loops": args.loops, "seconds": result}
        )
    )


if __name__ == "__main__":
    main()
