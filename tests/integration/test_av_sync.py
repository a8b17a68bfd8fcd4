"""A camera and its microphone on one clock: media timestamps of video frames and audio chunks line
up even when the audio track starts later than the video (an A/V offset), in a file and over RTSP.

The clip is made here with FFmpeg: a white flash at 2.0 s of video and a 1 kHz beep at the same
instant, in an audio track that starts 0.5 s after the video. Without the offset the beep would be
heard 0.44 s early (sample counting starts at the track's own first sample)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import RtspServer, drain

from emostream.config import AudioSourceConfig, CameraConfig
from emostream.metrics import Metrics
from emostream.sources import queue_policy
from emostream.sources.audio import AudioSource
from emostream.sources.queues import BoundedQueue
from emostream.sources.video import VideoSource


def offset_clip(path: Path) -> Path:
    flash = "drawbox=x=0:y=0:w=320:h=240:color=white:t=fill:enable='between(t,2,2.2)'"
    beep = "aevalsrc='if(between(t,1.5,1.7),0.5*sin(2*PI*1000*t),0)':s=16000:d=3.5"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s=320x240:r=25:d=4,{flash}",
         "-itsoffset", "0.5", "-f", "lavfi", "-i", beep,
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def flashes_and_beeps(url: str, seconds: float | None) -> tuple[list[float], list[float]]:
    """Media times at which the picture turns white and the beep starts, read by the real sources."""
    cam, mic = CameraConfig(id="c", url=url, fps=0), AudioSourceConfig(id="a", url=url)
    qv, qa = BoundedQueue(2000, queue_policy(cam)), BoundedQueue(2000, queue_policy(mic))
    stop = threading.Event()
    sources = [VideoSource(cam, qv, Metrics(), stop), AudioSource(mic, qa, Metrics(), stop)]
    for s in sources:
        s.start()
    if seconds is not None:
        stop.wait(seconds)
        stop.set()
    frames, chunks = drain(qv, 5, poll=1.0), drain(qa, 5, poll=1.0)
    for s in sources:
        s.thread.join(5)
    white = [f.ts for f in frames if f.image.mean() > 128]
    flashes = [t for i, t in enumerate(white) if i == 0 or t - white[i - 1] > 0.5]
    y = np.concatenate([c.samples for c in chunks])
    loud = np.sqrt(np.mean(y[: len(y) // 160 * 160].reshape(-1, 160) ** 2, axis=1)) > 0.05
    onsets = [chunks[0].ts + i * 0.01 for i in np.flatnonzero(loud[1:] & ~loud[:-1]) + 1]
    return flashes, onsets


def test_file_audio_offset_is_kept(tmp_path: Path) -> None:
    flashes, beeps = flashes_and_beeps(str(offset_clip(tmp_path / "offset.mp4")), None)
    assert flashes == [pytest.approx(2.0, abs=0.01)]
    assert beeps == [pytest.approx(2.0, abs=0.02)]


@pytest.mark.slow
def test_rtsp_audio_and_video_line_up(tmp_path: Path) -> None:
    server = RtspServer(offset_clip(tmp_path / "offset.mp4"), audio=True).start()
    try:
        flashes, beeps = flashes_and_beeps(server.url, 11.0)
    finally:
        server.stop()
    assert len(beeps) >= 2
    # every beep has its flash within 0.12 s (AAC priming over RTP leaves ~0.06 s; without the shared
    # clock the two drift apart by the track offset)
    assert all(min(abs(b - f) for f in flashes) <= 0.12 for b in beeps), (flashes, beeps)
