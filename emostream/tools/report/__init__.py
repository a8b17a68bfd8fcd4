"""``emostream report VIDEO``: a recorded video through the daemon's own pipeline, written up as files.

The video runs as a file camera (every frame, or ``fps`` per second of media time) through the same
detect → classify → track → debounce path as the daemon, publishing to a private Redis; the events
are collected by the report's own sink. Written to the output folder:

- ``events.jsonl`` (one schema-v1 event per line) and ``events.csv`` (the same rows, flat columns);
- ``tracks.csv`` and ``summary.json``: per track its span, dwell, changes, dominant emotion, shares;
- ``timeline.png`` (each track's emotion over media time) and ``shares.png`` (overall shares);
- with ``annotate``, ``annotated.mp4``: the analysed frames with boxes, track numbers and emotions.

A video with an audio track is also heard: the track runs as an audio source tied to the camera, so
the report has voice segments with their speaker (``speaker_track``) and the fused ``person.emotion``
rows of each face that speaks, beside the face tracks (rows are keyed by modality); ``audio=False``
(``--no-audio``) leaves it out. Needs the ``report`` extra (matplotlib, tqdm).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av

from emostream.config import load, parse
from emostream.daemon.pipeline import Pipeline
from emostream.daemon.run import camera_id_for
from emostream.errors import ReportError
from emostream.tools.report.annotate import AnnotatedVideo
from emostream.types import Event, Frame, TrackedFace

__all__ = ["ReportError", "make_report"]


def probe_duration(path: Path) -> tuple[float | None, bool]:
    """(media duration in seconds or None if the container does not say, whether it has audio);
    ReportError if unreadable."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ReportError(f"{path} has no video stream")
            stream, audio = container.streams.video[0], bool(container.streams.audio)
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base), audio
            return (container.duration / 1_000_000 if container.duration else None), audio
    except av.FFmpegError as exc:
        raise ReportError(f"cannot open {path}: {exc}") from None


def report_config(
    video: Path, config: str | None, fps: float, redis_url: str | None, audio: bool = False
) -> Any:
    """The config's models and settings with one camera, the video, read as fast as analysis goes
    (and with ``audio``, its audio track as a source tied to that camera)."""
    data = load(config).model_dump()
    cam = camera_id_for(str(video), set())
    data["cameras"] = [{"id": cam, "url": str(video), "fps": fps, "queue_size": 8}]
    data["audio"] = [{"id": f"{cam}-audio", "url": str(video), "camera": cam}] if audio else []
    data["metrics"]["enabled"] = False
    data["redis"]["url"] = redis_url
    data.pop("shard", None)  # a report covers the whole video whatever daemon sharding says
    return parse(data, env={})


def make_report(
    video: str | Path,
    out: str | Path | None = None,
    config: str | None = None,
    fps: float = 0.0,
    annotate: bool = False,
    progress: bool = True,
    redis_url: str | None = None,
    audio: bool = True,
) -> dict[str, Path]:
    """Analyse ``video`` and write the report into ``out``; returns the written files by name."""
    from tqdm import tqdm

    from emostream.tools.report import plots

    src = Path(video)
    if not src.is_file():
        raise ReportError(f"no such file: {src}")
    duration, has_audio = probe_duration(src)
    out_dir = Path(out) if out else Path(f"{src.stem}-report")
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = report_config(src, config, fps, redis_url, audio and has_audio)

    writer = AnnotatedVideo(out_dir / "annotated.mp4", plots.COLORS) if annotate else None
    collector = _Collector(writer)
    pipe = Pipeline(cfg, sinks=[collector])
    total = round(duration, 2) if duration else None
    bar = tqdm(total=total, unit="s", desc=src.name, disable=not progress, bar_format=_BAR, leave=True)
    pipe.start()
    try:
        while not pipe.wait(0.2):
            bar.update(round(min(collector.position, total or collector.position) - bar.n, 2))
    finally:
        summary = pipe.stop()
        bar.update(round((total or collector.position) - bar.n, 2))
        bar.close()
        video_path = writer.close() if writer is not None else None
    if collector.failed:
        raise ReportError(f"cannot write the annotated video: {collector.failed[0]}")

    files = _write(out_dir, src, collector.events, summary, fps, duration)
    if video_path is not None:
        files["video"] = video_path
    return files


class _Collector:
    """The report's sink: keeps every event, follows media time, draws annotated frames."""

    def __init__(self, writer: AnnotatedVideo | None) -> None:
        self.events: list[dict[str, Any]] = []
        self.emotions: dict[int, str | None] = {}  # each track's current emotion, for the labels
        self.position = 0.0
        self.failed: list[BaseException] = []
        self._writer = writer
        self._lock = threading.Lock()

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        with self._lock:
            for ev in events:
                self.events.append(ev.payload)
                if ev.payload["type"] == "emotion.changed" and ev.payload["modality"] == "face":
                    self.emotions[ev.payload["track"]] = ev.payload["emotion"]
        if frame is None:
            return
        self.position = frame.ts
        if self._writer is not None and not self.failed:
            try:
                self._writer.write(frame, list(faces), self.emotions)
            except Exception as exc:  # the analysis must go on; the report says so at the end
                self.failed.append(exc)

    def close(self) -> None:
        pass


_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s of video [{elapsed}<{remaining}]"


def _write(
    out_dir: Path,
    src: Path,
    events: list[dict[str, Any]],
    summary: dict[str, object],
    fps: float,
    duration: float | None,
) -> dict[str, Path]:
    from emostream.tools.report import plots, tables

    tracks = tables.track_summary(events)
    labels = tables.labels_of(events)
    shares = tables.overall_shares(tracks)
    files = {
        "events": tables.write_jsonl(events, out_dir / "events.jsonl"),
        "csv": tables.write_events_csv(events, out_dir / "events.csv"),
        "tracks": tables.write_tracks_csv(tracks, labels, out_dir / "tracks.csv"),
        "timeline": plots.plot_timeline(
            tables.segments(events), f"{src.name}: emotion per track", out_dir / "timeline.png"
        ),
        "shares": plots.plot_shares(shares, tracks, src.name, out_dir / "shares.png"),
    }
    by_type: dict[str, int] = {}
    for ev in events:
        by_type[ev["type"]] = by_type.get(ev["type"], 0) + 1
    doc = {
        "video": str(src),
        "duration": duration,
        "fps": fps or "every frame",
        "frames_analysed": summary.get("frames_analysed"),
        "faces": summary.get("faces"),
        "events": len(events),
        "events_by_type": by_type,
        "speakers": tables.speakers(events),
        "tracks": tracks,
        "shares": shares,
        "files": {k: p.name for k, p in files.items()},
    }
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    files["summary"] = summary_path
    return files
