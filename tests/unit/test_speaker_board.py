"""The camera's board for speaker attribution (emostream.analysis.speaker.board) and its wiring.

A live board keeps the last ``horizon`` seconds behind the video; a board following the voice (a
file read as fast as analysis goes) keeps what the voice has not heard yet, however far ahead the
camera ran. The daemon makes a file camera's board follow the voice and lets its audio wait for the
picture as long as it takes; a live or real-time camera keeps ``speaker.wait``.
"""

from __future__ import annotations

import threading

from emostream.analysis.speaker.board import SpeakerBoard
from emostream.config import parse
from emostream.daemon.pipeline import Pipeline


def _run_camera(board: SpeakerBoard, until: float) -> None:
    """A camera at 10 fps with one track from 0 to ``until`` s of media time."""
    for i in range(round(until * 10) + 1):
        ts = i / 10
        board.add_mouth(1, ts, 0.1 * (i % 3))
        board.advance(ts)


def test_a_live_board_keeps_its_horizon_behind_the_video() -> None:
    board = SpeakerBoard("cam", horizon=12.0)
    _run_camera(board, 30.0)
    assert board.window(2.0, 5.0) == []  # 25 s behind the video: gone
    (track,) = board.window(20.0, 23.0)
    assert track.track == 1 and len(track.mouth_ts) == 31


def test_a_board_following_the_voice_keeps_what_was_not_heard() -> None:
    board = SpeakerBoard("cam", horizon=12.0, follow_voice=True)
    board.heard(5.0)
    _run_camera(board, 30.0)  # the camera ran 25 s ahead of the voice
    (track,) = board.window(2.0, 5.0)
    assert len(track.mouth_ts) == 31
    board.heard(25.0)
    board.advance(30.0)
    assert board.window(2.0, 5.0) == []  # heard and past the horizon: pruned
    assert len(board.window(20.0, 23.0)[0].mouth_ts) == 31


def test_waiting_for_the_picture_ends_when_the_camera_does() -> None:
    board = SpeakerBoard("cam")
    board.advance(1.0)
    assert board.wait_until(1.0, 0.0)
    done: list[bool] = []
    waiter = threading.Thread(target=lambda: done.append(board.wait_until(10.0, 60.0)))
    waiter.start()
    board.close()
    waiter.join(10)
    assert done == [False]  # released by the camera's end, not by the 60 s


def test_file_cameras_follow_their_voice_and_wait_for_the_picture(tmp_path) -> None:
    from emostream.analysis.voice.speech import SpeechClassifier

    clip = str(tmp_path / "clip.mp4")
    speech = SpeechClassifier()
    for realtime, follows in ((False, True), (True, False)):
        cfg = parse(
            {
                "cameras": [{"id": "a", "url": clip, "realtime": realtime}],
                "audio": [{"id": "m", "url": clip, "camera": "a"}],
                "metrics": {"enabled": False},
            },
            env={},
        )
        p = Pipeline(cfg)
        p._speaker_boards(list(cfg.cameras), list(cfg.audio))
        assert p.boards["a"].follow_voice is follows
        p.speech = speech  # the channel is built, never started
        channel = p._voice(cfg.audio[0])
        link = channel.analyzer.link
        assert link is not None and link.board is p.boards["a"]
        assert link.wait == (3600.0 if follows else cfg.speaker.wait)
