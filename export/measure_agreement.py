"""How far the default (tracks classified every ``track_interval`` s) agrees with the strict mode
(every face of every frame classified), on the events of ``emostream report`` over real clips::

    .venv/bin/python -m export.measure_agreement [--clip A.gif B.gif] [--fps 5] [--loops 10]

Both modes see the same detections and the same tracks (tracking comes before classification), so
tracks pair up by id. Printed per clip and over all: tracks in each mode, the share of paired track
time on which both modes report the same current emotion (after the first emotion of either), and
the mean absolute difference of the per-track emotion shares; one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import yaml

from emostream.runtime import shared_dir
from emostream.tools.report import make_report
from emostream.tools.report.tables import segments, track_summary


def _events(clip: Path, out: Path, strict: bool, fps: float, scan: float | None = None) -> list[dict]:
    cfg = out / f"cfg-{strict}.yaml"
    settings: dict[str, dict] = {"classifier": {"classify_every_frame": strict}}
    if scan is not None:
        settings["detector"] = {"scan_interval": scan}
    cfg.write_text(yaml.safe_dump(settings))
    files = make_report(clip, out / f"{clip.stem}-{strict}", config=str(cfg), fps=fps, progress=False)
    return [json.loads(line) for line in files["events"].read_text().splitlines()]


def shared_clips() -> list[Path]:
    """The six real clips of ``shared/media``; exits with one line without the shared folder."""
    shared = shared_dir()
    if shared is None:
        raise SystemExit("no shared folder: pass --clip or set EMOSTREAM_SHARED")
    return sorted((shared / "media").glob("*.gif"))


def looped(clip: Path, loops: int, folder: Path) -> Path:
    """``clip`` played ``loops`` times back to back, as one H.264 file (FFmpeg), or the clip itself."""
    if loops <= 1:
        return clip
    out = folder / f"{clip.stem}-x{loops}.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(clip)]
    cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"]
    subprocess.run([*cmd, str(out)], check=True)
    return out


def _emotion_at(spans: list[tuple[float, float, str | None]], t: float) -> str | None:
    for start, end, emotion in spans:
        if start <= t < end:
            return emotion
    return None


def compare(default: list[dict], strict: list[dict], step: float = 0.05) -> dict[str, float]:
    """Agreement of two runs' events on the same clip (see the module doc)."""
    seg_d, seg_s = segments(default), segments(strict)
    same = total = 0.0
    for key in seg_d.keys() & seg_s.keys():
        a, b = seg_d[key], seg_s[key]
        if not a or not b:
            continue
        start, end = max(a[0][0], b[0][0]), min(a[-1][1], b[-1][1])
        t = start
        while t < end:
            ea, eb = _emotion_at(a, t), _emotion_at(b, t)
            if ea is not None or eb is not None:
                total += step
                same += step * (ea == eb)
            t += step
    tracks_d = {(r["camera"], r["track"]): r for r in track_summary(default)}
    tracks_s = {(r["camera"], r["track"]): r for r in track_summary(strict)}
    diffs = []
    for key in tracks_d.keys() & tracks_s.keys():
        sa, sb = tracks_d[key].get("shares") or {}, tracks_s[key].get("shares") or {}
        diffs += [abs(sa.get(k, 0.0) - sb.get(k, 0.0)) for k in sa.keys() | sb.keys()]
    return {
        "tracks_default": len(tracks_d),
        "tracks_strict": len(tracks_s),
        "agree_seconds": round(same, 2),
        "compared_seconds": round(total, 2),
        "agreement": round(same / total, 4) if total else 1.0,
        "mean_share_diff": round(sum(diffs) / len(diffs), 4) if diffs else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", nargs="+", type=Path, help="videos (default: shared/media/*.gif)")
    ap.add_argument("--fps", type=float, default=0.0, help="analysed frames per second (default: every one)")
    ap.add_argument("--loops", type=int, default=1, help="play each clip this many times back to back")
    ap.add_argument("--scan-interval", type=float, help="detector.scan_interval of both runs (default: its)")
    args = ap.parse_args()
    clips = args.clip or shared_clips()
    per_clip, all_d, all_s = {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for original in clips:
            clip = looped(original, args.loops, Path(tmp))
            d = _events(clip, Path(tmp), False, args.fps, args.scan_interval)
            s = _events(clip, Path(tmp), True, args.fps, args.scan_interval)
            per_clip[clip.name] = compare(d, s)
            print(f"{clip.name:<45} {per_clip[clip.name]}", flush=True)
            all_d += d
            all_s += s
    same = sum(r["agree_seconds"] for r in per_clip.values())
    total = sum(r["compared_seconds"] for r in per_clip.values())
    overall = {"agreement": round(same / total, 4) if total else 1.0, "compared_seconds": round(total, 2)}
    print(f"overall: {overall}")
    print(json.dumps({"fps": args.fps, "loops": args.loops, "clips": per_clip, "overall": overall}))


if __name__ == "__main__":
    main()
