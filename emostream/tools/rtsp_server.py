"""A real RTSP server on loopback for the tests and benchmarks: Debian's rtsp-server-perl fed by ffmpeg.

``RtspServer(clip).start()`` serves ``clip`` in a loop at its own pace at :attr:`RtspServer.url`
(RTP over UDP), as a camera would; :meth:`RtspServer.stop` kills both processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from emostream.daemon.localredis import free_port

__all__ = ["RtspServer"]


class RtspServer:
    """A real RTSP server: Debian's rtsp-server-perl, fed one clip in a loop at real-time pace by ffmpeg.

    Clients read ``url`` over RTP/UDP (the server does not do interleaved TCP); ffmpeg publishes to it
    with ANNOUNCE/RECORD on a second port, as a camera or encoder would.
    """

    def __init__(self, clip: Path, audio: bool = False, video: bool = True, copy: bool = False) -> None:
        for exe in ("ffmpeg", "rtsp-server-perl"):
            if shutil.which(exe) is None:
                raise RuntimeError(f"{exe} is required for an RTSP server (make system-deps installs it)")
        self.clip = clip
        self.audio = audio  # publish the clip's audio track too (AAC), else video only
        self.video = video  # False: an audio-only stream (a microphone's RTSP feed)
        self.copy = copy  # True: publish the clip's own video stream (H.264, say) without re-encoding
        self.port = free_port()
        self.source_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 15.0) -> RtspServer:
        self._spawn(
            [
                "rtsp-server-perl",
                "--clientport",
                str(self.port),
                "--serverport",
                str(self.source_port),
                "--client_listen_address",
                "127.0.0.1",
                "--source_listen_address",
                "127.0.0.1",
                "--rtp_start_port",
                str(20000 + self.port % 20000),
                "--loglevel",
                "1",
            ]
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.source_port):
            if time.monotonic() > deadline:
                raise RuntimeError("rtsp-server-perl did not listen")
            time.sleep(0.05)
        self._spawn(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
                str(self.clip),
                *(["-c:a", "aac", "-ar", "44100"] if self.audio else ["-an"]),
                *(self._video_args() if self.video else ["-vn"]),
                "-f",
                "rtsp",
                f"rtsp://127.0.0.1:{self.source_port}/live",
            ]
        )
        while not self.playable():
            if time.monotonic() > deadline:
                raise RuntimeError(f"RTSP stream {self.url} did not become playable")
            time.sleep(0.2)
        return self

    def _video_args(self) -> list[str]:
        return ["-c:v", "copy"] if self.copy else ["-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"]

    def playable(self) -> bool:
        import av

        try:
            with av.open(self.url, options={"rtsp_transport": "udp"}, timeout=(2, 2)) as c:
                return (bool(c.streams.video) or not self.video) and (bool(c.streams.audio) or not self.audio)
        except av.FFmpegError:
            return False

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
