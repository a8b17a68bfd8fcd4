"""Who is speaking, on clips built from the shared material (emostream.tools.evaluate.speakers):

* the RAVDESS audio-visual clip beside itself delayed by 2 s, with the undelayed audio, the speaker on
  the left and on the right: the speech segments go to the speaker's face track, never the other;
* two non-speaking faces (the GIF clips) with speech of another actor: the segments go to nobody
  (GIF pairs and actors other than the ones ``speaker.min_sync`` was calibrated on);
* the speaker's fused (face + voice) estimate is published as ``person.emotion``, with evidence shares;
* a camera without an audio source loads no landmark model.

The floors are regression floors, about one segment below what export/measure_speaker.py
measures (5 / 5, 5 / 5 and 17 / 18 nobody, issue 20 aiming at 90 %; windows 17 / 19 and 19 / 19):
on these clips the best non-speaker and the true speaker are a few hundredths of synchrony apart
around ``min_sync``, so another CPU's float rounding in the models may move a segment. The clips
themselves are the same on every run (emostream.tools.evaluate.speakers.write_clip).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emostream.analysis.voice.features import load_audio
from emostream.config import parse
from emostream.daemon.pipeline import Pipeline
from emostream.tools.evaluate.speakers import attribute_clip, attribution_accuracy, off_screen, side_by_side


def _av(shared: Path) -> Path:
    return next((shared / "media" / "av").glob("*.mp4"))


def _speech(shared: Path, actor: int) -> np.ndarray:
    clips = sorted((shared / "data" / "ravdess" / f"Actor_{actor:02d}").glob("*.flac"))[:6]
    return np.concatenate([p for c in clips for p in (load_audio(c), np.zeros(32_000, np.float32))])


@pytest.mark.slow
@pytest.mark.parametrize("side", ["left", "right"])
def test_side_by_side_speaker_gets_the_segments(shared: Path, tmp_path: Path, side: str) -> None:
    res = attribute_clip(side_by_side(_av(shared), tmp_path / f"{side}.mp4", speaker=side))
    win, seg, n_win, n_seg = attribution_accuracy(res, side)
    assert n_seg == 5 and n_win >= 15
    assert seg >= 0.8, res.segments
    assert win >= 0.6  # the first window of a segment may not separate the two mouths yet
    other = attribution_accuracy(res, "right" if side == "left" else "left")
    assert other[1] == 0.0  # never the delayed face
    fused = [d for d in res.voice if d.modality == "fused"]
    assert fused and {d.kind for d in fused} >= {"appeared", "lost"}
    first = next(d for d in fused if d.kind == "appeared")
    assert first.extra is not None and set(first.extra["fusion"]) == {"face", "voice"}
    assert abs(sum(first.extra["fusion"].values()) - 1.0) < 1e-6
    assert res.side(first.extra["box"]) == side


@pytest.mark.slow
def test_off_screen_speaker_is_nobody(shared: Path, tmp_path: Path) -> None:
    gifs = sorted((shared / "media").glob("*.gif"))
    right = total = 0
    for (a, b), actor in (((1, 3), 5), ((0, 5), 6), ((2, 4), 7)):
        res = attribute_clip(
            off_screen([gifs[a], gifs[b]], _speech(shared, actor), tmp_path / f"o{a}{b}.mp4")
        )
        _win, seg, _n_win, n_seg = attribution_accuracy(res, None)
        right += round(seg * n_seg)
        total += n_seg
    assert total >= 15 and right / total >= 0.8


def test_cameras_without_audio_load_no_landmark_model(shared: Path, media: list[Path]) -> None:
    clip = str(media[0])
    cfg = parse({"cameras": [{"id": "a", "url": clip}], "audio": [{"id": "m", "url": clip}]})
    p = Pipeline(cfg)
    p._speaker_boards(list(cfg.cameras), list(cfg.audio))  # the audio source names no camera
    assert p.landmarker is None and p.boards == {}
    tied = parse({"cameras": [{"id": "a", "url": clip}], "audio": [{"id": "m", "url": clip, "camera": "a"}]})
    p = Pipeline(tied, models=(p.detector, p.classifier))
    p._speaker_boards(list(tied.cameras), list(tied.audio))
    assert p.landmarker is not None and set(p.boards) == {"a"}
    off = parse({**tied.model_dump(), "speaker": {"enabled": False}})
    p = Pipeline(off, models=(p.detector, p.classifier))
    p._speaker_boards(list(off.cameras), list(off.audio))
    assert p.landmarker is None


@pytest.mark.slow
def test_daemon_publishes_the_speaker_and_the_fused_emotion(
    shared: Path,
    tmp_path: Path,
    redis_server,
    redis_client,
) -> None:
    """`emostream run` on the side-by-side file: a camera and its audio track, two threads on one
    clock. Face events carry a normalised box, voice events the left face's track, and the fused
    person.emotion events validate against the schema."""
    import json
    import subprocess
    import sys

    import jsonschema

    from emostream.sinks.events import schema

    clip = side_by_side(_av(shared), tmp_path / "left.mp4", speaker="left", loops=4)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"cameras: [{{id: desk, url: '{clip}'}}]\n"
        f"audio: [{{id: desk-mic, url: '{clip}', camera: desk}}]\n"
        f"redis: {{url: '{redis_server.url}'}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(f["event"]) for _, f in redis_client.xrange("emostream:events")]
    validator = jsonschema.Draft202012Validator(schema())
    for ev in events:
        validator.validate(ev)
    faces = [e for e in events if e["modality"] == "face"]
    voices = [e for e in events if e["modality"] == "voice"]
    fused = [e for e in events if e["modality"] == "fused"]
    assert faces and all(len(e["box"]) == 4 and 0 <= min(e["box"]) <= max(e["box"]) <= 1 for e in faces)
    left = {e["track"] for e in faces if e["box"][0] + e["box"][2] / 2 < 0.5}
    right = {e["track"] for e in faces if e["box"][0] + e["box"][2] / 2 >= 0.5}
    stopped = [e for e in voices if e["type"] == "voice.stopped"]
    assert len(stopped) == 4
    # the attribution itself is scored by the tests above; here: the daemon's threads carry it through
    assert sum(e["speaker_track"] in left for e in stopped) >= 3, [e["speaker_track"] for e in stopped]
    # a segment's first windows may not separate the mouths yet (scored per window by the tests
    # above); what a segment ends with never names the delayed face
    assert not {e["speaker_track"] for e in stopped} & right
    assert fused and {e["type"] for e in fused} == {"person.emotion", "person.stopped"}
    assert all(e["camera"] == "desk" for e in fused)
    assert sum(e["track"] in left for e in fused) >= 0.75 * len(fused)
    changed = [e for e in fused if e["type"] == "person.emotion"]
    assert all(abs(sum(e["fusion"].values()) - 1) < 1e-3 and e["segment"] >= 1 for e in changed)
