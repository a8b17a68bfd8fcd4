"""Decoding with PyAV, shared by video and audio sources: open, pick the stream, watch for stalls.

:func:`decoded` is the one demux loop of both paths. It turns FFmpeg's failures into one-line
:class:`~emostream.errors.SourceError` messages with credentials redacted, counts undecodable
packets instead of failing on them, and fails a *live* stream that has sent nothing decodable for
``watchdog`` seconds: a blocked read is interrupted by PyAV's read timeout, and a stream that still
sends packets but no picture (or sound) is caught by the check between packets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import av

from emostream.errors import SourceError
from emostream.redact import redact

__all__ = ["OPEN_TIMEOUT", "decoded", "reason", "source_kind"]

MAX_LEAD = 5.0  # seconds: a stream starting later than this after its container is not offset
OPEN_TIMEOUT = 10.0  # seconds for FFmpeg to open a source before it counts as unreachable
_STREAM = re.compile(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp|srt)://", re.IGNORECASE)


def source_kind(url: str) -> str:
    """``webcam`` for a device index, ``stream`` for a network URL, ``file`` otherwise."""
    if url.strip().isdigit():
        return "webcam"
    if _STREAM.match(url):
        return "stream"
    return "file"


def reason(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def decoded(
    url: str,
    kind: str,
    media: Literal["video", "audio"],
    watchdog: float = 10.0,
    options: dict[str, str] | None = None,
    on_corrupt: Callable[[], None] | None = None,
    configure: Callable[[Any], None] | None = None,
) -> Iterator[tuple[list[Any], bool, float]]:
    """(decoded frames of one packet, whether it was the end-of-stream flush packet, the container's
    start time in seconds) of the first ``media`` stream of ``url``, until the source ends;
    ``configure`` sees the stream before decoding.

    The start time is the earliest start of any stream of the container: a camera and its audio,
    each opened on its own, both count media time from it, so their timestamps line up even when
    one stream starts later than the other (an A/V offset in the file or the RTSP session)."""
    live = kind != "file"
    noun = "picture" if media == "video" else "audio"
    try:
        container = av.open(url, options=options or {}, timeout=(OPEN_TIMEOUT, watchdog))
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(f"cannot open {kind} {redact(url)}: {redact(reason(exc))}") from None
    try:
        streams = container.streams.video if media == "video" else container.streams.audio
        if not streams:
            what = "video stream" if media == "video" else "audio track"
            raise SourceError(f"{kind} {redact(url)} has no {what}")
        if configure is not None:
            configure(streams[0])
        origin = container.start_time / 1e6 if container.start_time is not None else 0.0
        last = time.monotonic()
        for packet in container.demux(streams[0]):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                if on_corrupt is not None:
                    on_corrupt()
                frames = []
            if frames:
                last = time.monotonic()
            elif live and time.monotonic() - last > watchdog:
                raise SourceError(f"{kind} {redact(url)} gave no {noun} for {watchdog:g} s")
            yield frames, packet.size == 0, origin
    except av.FFmpegError as exc:
        raise SourceError(f"{kind} {redact(url)} failed while reading: {redact(reason(exc))}") from None
    finally:
        container.close()
