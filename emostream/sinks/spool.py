"""A bounded, append-only on-disk queue of events waiting for Redis.

Records are single lines in numbered segment files; a ``cursor`` file (replaced atomically) says
how far delivery got. Appends are flushed and fsync'd once per batch, so a crash loses at most the
batch being written, and a torn last line is cut off when the spool is opened again. When the
spool would grow past ``max_bytes`` the oldest segments are deleted and their records counted as
dropped: the caller logs and exports that count. One process at a time may use a spool folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emostream.errors import SpoolError, SpoolFull
from emostream.redact import redact
from emostream.runtime import state_dir

if TYPE_CHECKING:
    from emostream.config import CameraConfig, RedisConfig

__all__ = ["Spool", "open_spool"]

log = logging.getLogger("emostream.pipeline")

SEGMENT_SUFFIX = ".log"


class Spool:
    """FIFO of byte records (no newlines) that survives restarts."""

    def __init__(
        self, directory: str | Path, max_bytes: int = 256 << 20, segment_bytes: int = 4 << 20
    ) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = max(1024, min(segment_bytes, max_bytes // 4 or 1024))
        self.dropped = 0
        self.cursor_errors = 0
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.dir / "lock", "a+b")  # noqa: SIM115 - held for the spool's lifetime
        except OSError as exc:
            raise SpoolError(f"spool folder {self.dir} is not usable: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SpoolError(f"spool folder {self.dir} is in use by another emostream process") from None
        self._segments = sorted(int(p.stem) for p in self.dir.glob("*" + SEGMENT_SUFFIX) if p.stem.isdigit())
        self._read_seg, self._read_off = self._load_cursor()
        self._segments = [s for s in self._segments if s >= self._read_seg]
        if self._segments:
            self._repair(self._segments[-1])
        self._count = sum(
            self._lines(seg, self._read_off if seg == self._read_seg else 0) for seg in self._segments
        )
        self._writer: int | None = None  # file descriptor of the last segment, appending

    # -- files -------------------------------------------------------------------------------------------
    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:012d}{SEGMENT_SUFFIX}"

    def _load_cursor(self) -> tuple[int, int]:
        try:
            seg, off = (self.dir / "cursor").read_text().split()
            return int(seg), int(off)
        except (OSError, ValueError):
            return (self._segments[0] if self._segments else 0), 0

    def _save_cursor(self) -> None:
        tmp = self.dir / "cursor.tmp"
        try:
            with open(tmp, "w") as f:
                f.write(f"{self._read_seg} {self._read_off}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.dir / "cursor")
        except OSError:
            # A full disk: delivery goes on with the cursor in memory. Were we to crash before the
            # next save, the publisher's tail check on restart skips what Redis already holds.
            self.cursor_errors += 1

    def _repair(self, seg: int) -> None:
        """Cut a torn last record (a crash in the middle of an append)."""
        path = self._path(seg)
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(path, "r+b") as f:
                f.truncate(end)

    def _lines(self, seg: int, offset: int) -> int:
        with open(self._path(seg), "rb") as f:
            f.seek(offset)
            return f.read().count(b"\n")

    def _size(self) -> int:
        return sum(self._path(s).stat().st_size for s in self._segments) - self._read_off

    # -- API ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def append(self, records: list[bytes]) -> None:
        """Append records durably (one fsync for the whole batch), or not at all: a disk that refuses
        the write (full, read-only) gets the segment cut back to where it was and :class:`SpoolFull`."""
        if not records:
            return
        seg = self._segments[-1] if self._segments else None
        if seg is None or self._path(seg).stat().st_size >= self.segment_bytes:
            seg = seg + 1 if seg is not None else self._read_seg + 1
            self._close_writer()
        data = b"".join(r + b"\n" for r in records)
        try:
            if self._writer is None:  # unbuffered: a failed write leaves nothing half-written in memory
                self._writer = os.open(self._path(seg), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            start = os.lseek(self._writer, 0, os.SEEK_END)
        except OSError as exc:
            raise SpoolFull(f"spool {self.dir}: {exc.strerror or exc}") from None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._writer, view) :]
            os.fsync(self._writer)
        except OSError as exc:
            # No torn record: the batch is all or nothing. (On a read-only remount the truncate fails
            # too; the torn tail is then cut when the spool is opened again.)
            with contextlib.suppress(OSError):
                os.ftruncate(self._writer, start)
            raise SpoolFull(f"spool {self.dir}: {exc.strerror or exc}") from None
        if not self._segments or self._segments[-1] != seg:  # a new segment counts once it holds data
            self._segments.append(seg)
        self._count += len(records)
        self._enforce_cap()

    def _close_writer(self) -> None:
        if self._writer is not None:
            os.close(self._writer)
            self._writer = None

    def _enforce_cap(self) -> None:
        while len(self._segments) > 1 and self._size() > self.max_bytes:
            oldest = self._segments[0]
            lost = self._lines(oldest, self._read_off if oldest == self._read_seg else 0)
            self.dropped += lost
            self._count -= lost
            self._path(oldest).unlink()
            self._segments.pop(0)
            self._read_seg, self._read_off = self._segments[0], 0
            self._save_cursor()

    def peek(self, n: int) -> list[bytes]:
        """Up to ``n`` oldest records, without removing them."""
        out: list[bytes] = []
        for seg in self._segments:
            if len(out) >= n:
                break
            with open(self._path(seg), "rb") as f:
                f.seek(self._read_off if seg == self._read_seg else 0)
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    out.append(line[:-1])
                    if len(out) >= n:
                        break
        return out

    def commit(self, n: int) -> None:
        """The ``n`` oldest records were delivered: move the cursor past them, durably."""
        left = n
        while left > 0 and self._segments:
            seg = self._segments[0]
            with open(self._path(seg), "rb") as f:
                f.seek(self._read_off if seg == self._read_seg else 0)
                off = f.tell()
                for line in f:
                    off += len(line)
                    left -= 1
                    if left == 0:
                        break
            self._read_seg, self._read_off = seg, off
            if left > 0 or (off >= self._path(seg).stat().st_size and len(self._segments) > 1):
                self._path(seg).unlink()
                self._segments.pop(0)
                if self._segments:
                    self._read_seg, self._read_off = self._segments[0], 0
        self._count = max(0, self._count - n)
        self._save_cursor()

    def close(self) -> None:
        self._close_writer()
        self._lock.close()


def open_spool(rc: RedisConfig, cams: Sequence[CameraConfig]) -> Spool | None:
    """The on-disk spool for the configured Redis (``redis.spool_dir``, else a folder of the state
    dir named after the URL, stream and cameras); none for a private Redis, which dies with us."""
    if not rc.url or not rc.spool:
        return None
    if rc.spool_dir:
        directory = Path(rc.spool_dir)
    else:
        key = "\n".join([redact(rc.url), rc.stream, *sorted(c.id for c in cams)])
        directory = state_dir() / f"spool-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    spool = Spool(directory, max_bytes=int(rc.spool_max_mb * (1 << 20)))
    log.info("event spool at %s", directory)
    return spool
