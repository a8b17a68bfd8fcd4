"""Repeatable speaker-attribution clips and their scores (``export/measure_speaker.py``, the tests).

The clips are built from material at hand:

* :func:`side_by_side`: a talking-face recording looped, next to itself delayed by ``delay`` seconds,
  with the undelayed side's audio: both faces move their lips alike, only one in time with the voice.
  ``speaker="left"`` or ``"right"`` says which side is undelayed.
* :func:`off_screen`: two faces that do not speak (the shared GIF clips) with speech from elsewhere:
  the speaker is off screen, every segment should be attributed to nobody.

:func:`attribute_clip` plays a clip through the daemon's own analyzers (camera → board →
voice + link) in media-time order on one thread, so the result does not depend on machine speed,
and returns what was decided for every voiced window and segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from emostream.analysis.debounce import Decision
from emostream.analysis.speaker.attribution import Attribution
from emostream.config import AudioSourceConfig, Config
from emostream.sources.video import bgr_pixels
from emostream.tools.evaluate.media import mux_audio
from emostream.types import Frame

__all__ = [
    "ClipResult",
    "attribute_clip",
    "attribution_accuracy",
    "looped",
    "off_screen",
    "read_clip",
    "side_by_side",
    "write_clip",
]

SR = 16_000


def read_clip(path: Path) -> tuple[float, list[np.ndarray], np.ndarray]:
    """(frame rate, BGR frames, 16 kHz mono audio) of a media file."""
    from emostream.sources.audio import pyav_audio

    with av.open(str(path)) as c:
        rate = float(c.streams.video[0].average_rate or 25)
        frames = [bgr_pixels(f) for f in c.decode(video=0)]
        has_audio = bool(c.streams.audio)
    audio = np.concatenate(list(pyav_audio(str(path), "file"))) if has_audio else np.zeros(0, np.float32)
    return rate, frames, audio


def write_clip(path: Path, frames: Sequence[np.ndarray], fps: float, audio: np.ndarray) -> Path:
    """An MP4 (H.264 + AAC) of BGR ``frames`` at ``fps`` and 16 kHz mono ``audio``."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        # A constant quantiser on one thread, no adaptive quantisation, macroblock tree or psy tuning:
        # with x264's float-driven defaults the same frames encoded twice in one process came out
        # different (and the speaker scores with them); this way a clip is the same on every run.
        vs.options = {"preset": "veryfast", "x264-params": "qp=20:aq-mode=0:no-mbtree=1:psy=0:threads=1"}
        st = out.add_stream("aac", rate=SR, layout="mono")
        for img in frames:
            # to I420 by OpenCV: the encoder's input planes do not depend on FFmpeg's converter
            yuv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2YUV_I420)
            for pkt in vs.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        mux_audio(out, st, audio.astype(np.float32), "flt", SR)
    return path


def _loop_audio(audio: np.ndarray, period: float, total: float, shift: float = 0.0) -> np.ndarray:
    n = round(period * SR)
    one = np.zeros(n, np.float32)
    one[: min(n, len(audio))] = audio[:n]
    t = (np.arange(round(total * SR)) / SR - shift) % period
    return one[np.minimum((t * SR).astype(int), n - 1)]


def _with_pauses(src: Path, pause: float) -> tuple[float, list[np.ndarray], np.ndarray]:
    """``src`` preceded by ``pause`` s of its first frame and silence (a listener between sentences,
    so that every loop is a speech segment of its own; the loop's one jump in the picture, last
    frame back to the first, then falls in silence)."""
    fps, frames, audio = read_clip(src)
    hold = round(pause * fps)
    audio = np.concatenate([np.zeros(round(hold / fps * SR), np.float32), audio])
    return fps, [frames[0]] * hold + frames, audio


def looped(
    src: Path, out: Path, loops: int = 5, pause: float = 3.0, size: tuple[int, int] = (480, 360)
) -> Path:
    """One talking face: ``src`` with pauses (see :func:`side_by_side`), looped ``loops`` times."""
    fps, frames, audio = _with_pauses(src, pause)
    small = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    n = loops * len(small)
    return write_clip(
        out, [small[i % len(small)] for i in range(n)], fps, _loop_audio(audio, len(small) / fps, n / fps)
    )


def side_by_side(
    src: Path,
    out: Path,
    speaker: str = "left",
    delay: float = 2.0,
    loops: int = 5,
    pause: float = 3.0,
    half: tuple[int, int] = (480, 360),
) -> Path:
    """``src`` with ``pause`` s of its first frame and silence before it, looped ``loops`` times,
    beside the same loop delayed by ``delay`` s, with the undelayed side's audio: both faces move
    their lips alike, only one in time with the voice."""
    fps, frames, audio = _with_pauses(src, pause)
    period = len(frames) / fps
    n = round(loops * period * fps)
    small = [cv2.resize(f, half, interpolation=cv2.INTER_AREA) for f in frames]
    k = round(delay * fps)
    out_frames = []
    for i in range(n):
        now, late = small[i % len(small)], small[(i - k) % len(small)]
        pair = (now, late) if speaker == "left" else (late, now)
        out_frames.append(np.hstack(pair))
    return write_clip(out, out_frames, fps, _loop_audio(audio, period, n / fps))


def off_screen(gifs: Sequence[Path], audio: np.ndarray, out: Path, fps: float = 10.0) -> Path:
    """Two (or more) non-speaking faces side by side, looped for the length of ``audio``."""
    clips = []
    for g in gifs:
        with av.open(str(g)) as c:
            clips.append([cv2.resize(bgr_pixels(f), (480, 270)) for f in c.decode(video=0)])
    n = round(len(audio) / SR * fps)
    frames = [np.hstack([c[i % len(c)] for c in clips]) for i in range(n)]
    return write_clip(out, frames, fps, audio)


@dataclass
class ClipResult:
    """What :func:`attribute_clip` saw: per voiced window and per segment, and what it cost."""

    # (segment, ts, attribution, the speaker's box) per voiced window
    windows: list[tuple[int, float, Attribution, tuple[float, ...] | None]] = field(default_factory=list)
    segments: dict[int, Attribution | None] = field(default_factory=dict)
    face: list[Decision] = field(default_factory=list)  # the camera's decisions
    voice: list[Decision] = field(default_factory=list)  # the audio source's (fused ones included)
    camera_ms: list[float] = field(default_factory=list)  # per analysed frame, everything
    landmark_ms: float = 0.0  # per analysed frame: the audio-visual part (landmarks, board)

    def side(self, box: Sequence[float] | None) -> str | None:
        if box is None:
            return None
        return "left" if box[0] + box[2] / 2 < 0.5 else "right"


def attribute_clip(path: Path, cfg: Config | None = None, fps: float = 10.0) -> ClipResult:
    """Play ``path`` through the camera analyzer (with board and landmarks) and a voice analyzer tied
    to it, frames first up to each audio chunk's end: the daemon's path without its threads."""
    import time

    from emostream.analysis.face.analyzer import CameraAnalyzer
    from emostream.analysis.face.classify import FaceEmotionClassifier
    from emostream.analysis.face.detect import build_detector
    from emostream.analysis.face.landmarks import FaceLandmarker
    from emostream.analysis.speaker.board import SpeakerBoard
    from emostream.analysis.speaker.link import SpeakerLink
    from emostream.analysis.voice.analyzer import VoiceAnalyzer
    from emostream.analysis.voice.speech import SpeechClassifier
    from emostream.metrics import Metrics
    from emostream.types import AudioChunk

    cfg = cfg or Config()
    # one thread plays both sides in order: the video is always there already, never wait for it
    cfg = cfg.model_copy(update={"speaker": cfg.speaker.model_copy(update={"wait": 0.0})})
    m = Metrics()
    d = cfg.detector
    board = SpeakerBoard("clip")
    cam = CameraAnalyzer(
        "clip",
        cfg,
        build_detector(d.kind, d.model, d.score_threshold, min_face=d.min_face),
        FaceEmotionClassifier(cfg.classifier.model),
        m,
        board,
        FaceLandmarker(),
    )
    link = SpeakerLink(board, cfg, SR)
    src = AudioSourceConfig(id="mic", url=str(path), camera="clip")
    voice = VoiceAnalyzer(src, cfg, SpeechClassifier(cfg.voice.model), m, link=link)
    res = ClipResult()
    inner = link.window

    def window(segment: int, ts: float, *a: object, **kw: object) -> list[Decision]:
        out = inner(segment, ts, *a, **kw)  # type: ignore[arg-type]
        att = link.last
        assert att is not None
        res.windows.append((segment, ts, att, cam.box_of(att.track) if att.track is not None else None))
        res.segments[segment] = att
        return out

    link.window = window  # type: ignore[method-assign]
    rate, frames, audio = read_clip(path)
    times = np.arange(len(frames)) / rate
    keep = [i for i, t in enumerate(times) if i == 0 or int(t * fps + 1e-6) > int(times[i - 1] * fps + 1e-6)]
    fi = 0
    for c, start in enumerate(range(0, len(audio), 1600)):
        end_ts = (start + 1600) / SR
        while fi < len(keep) and times[keep[fi]] <= end_ts:
            i = keep[fi]
            t0 = time.perf_counter()
            res.face += cam.process(Frame("clip", fi, float(times[i]), 0.0, frames[i]))
            res.camera_ms.append((time.perf_counter() - t0) * 1000)
            fi += 1
        res.voice += voice.process(AudioChunk("mic", c, start / SR, 0.0, audio[start : start + 1600]))
    res.face += cam.finish(float(times[-1]))
    res.voice += voice.finish()
    h = m.stage_seconds.labels("landmarks")
    res.landmark_ms = 1000 * h._sum.get() / max(len(res.camera_ms), 1)
    return res


def attribution_accuracy(res: ClipResult, truth: str | None) -> tuple[float, float, int, int]:
    """(share of voiced windows, share of segments) attributed right, and their counts; ``truth`` is
    the speaker's side ("left" / "right") or None for an off-screen speaker (right = nobody). A
    segment is judged by its final attribution, with the box its speaker had in its last window."""

    def right(att: Attribution | None, box: Sequence[float] | None) -> bool:
        track = att.track if att is not None else None
        return track is None if truth is None else track is not None and res.side(box) == truth

    win = [right(att, box) for _, _, att, box in res.windows]
    last = {seg: (att, box) for seg, _, att, box in res.windows}
    segs = [right(*last[seg]) for seg in sorted(last)]
    n_w, n_s = len(win), len(segs)
    return (sum(win) / n_w if n_w else 0.0, sum(segs) / n_s if n_s else 0.0, n_w, n_s)
