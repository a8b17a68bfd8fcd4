"""`make demo` without ../shared and without a webcam: the synthesised clip gives real events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av

from emostream.tools.demo import synth_clip


def test_synthesised_clip_is_a_real_video(tmp_path: Path) -> None:
    clip = synth_clip(tmp_path / "a.mp4", seconds=2.0, fps=10)
    with av.open(str(clip)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    assert len(frames) == 20 and frames[0].shape == (270, 480, 3)
    assert frames[0].std() > 20  # a picture, not a flat colour


def test_demo_without_shared_prints_events(tmp_path: Path) -> None:
    env = {**os.environ, "EMOSTREAM_SHARED": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    (tmp_path / "empty").mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "demo", "--seconds", "6"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / ".cache" / "emostream" / "demo-astronaut.mp4").is_file()
    assert "face.appeared" in res.stdout, res.stdout + res.stderr
    assert "emotion.changed" in res.stdout
    assert "demo summary:" in res.stdout
