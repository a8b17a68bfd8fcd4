"""Camera sharding: several daemons split one camera list between them, with no coordinator.

Each daemon is given ``shard: {index, count}`` (or ``EMOSTREAM_SHARD_INDEX`` / ``EMOSTREAM_SHARD_COUNT``,
or, when the index is left out, the ``-N`` suffix of its host name, as a Kubernetes StatefulSet names
its pods ``emostream-0``, ``emostream-1``, ...) and runs only the cameras that fall to its index.

A camera falls to the shard with the highest score ``sha256(f"{index}/{camera_id}")`` (rendezvous
hashing): every daemon computes the same answer from the camera id alone, the answer does not
depend on the order or the other entries of the list, and changing ``count`` from N to N+1 moves
only the cameras the new shard wins (about 1/(N+1) of them) instead of reshuffling most of them.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from emostream.config import ConfigError, ShardConfig

_SUFFIX = re.compile(r"-(\d+)$")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


C = TypeVar("C", bound=_HasId)


def _score(index: int, camera_id: str) -> int:
    digest = hashlib.sha256(f"{index}/{camera_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def shard_of(camera_id: str, count: int) -> int:
    """The shard (0 .. count-1) that processes ``camera_id`` when ``count`` daemons share the list."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if count == 1:
        return 0
    return max(range(count), key=lambda i: _score(i, camera_id))


def index_from_hostname(hostname: str | None = None) -> int | None:
    """The ordinal of a StatefulSet pod from its host name (``emostream-2`` → 2), else None."""
    name = (hostname if hostname is not None else socket.gethostname()).split(".")[0]
    m = _SUFFIX.search(name)
    return int(m.group(1)) if m else None


def resolve(shard: ShardConfig, hostname: str | None = None) -> tuple[int, int]:
    """``(index, count)`` for this daemon; the index comes from the config or else the host name.

    Raises :class:`ConfigError` when several shards are configured but no index can be found, or the
    host name's ordinal is not below ``count`` (a StatefulSet scaled beyond ``shard.count``).
    """
    if shard.index is not None:
        return shard.index, shard.count
    if shard.count == 1:
        return 0, 1
    index = index_from_hostname(hostname)
    if index is None:
        name = hostname if hostname is not None else socket.gethostname()
        raise ConfigError(
            f"shard.index: not set, no EMOSTREAM_SHARD_INDEX, and host name {name!r} has no '-N' suffix"
        )
    if index >= shard.count:
        raise ConfigError(
            f"shard.index: host name ordinal {index} is not below shard.count {shard.count} "
            "(scale the StatefulSet and shard.count together)"
        )
    return index, shard.count


def select(cameras: Sequence[C], index: int, count: int) -> list[C]:
    """The cameras of ``cameras`` that shard ``index`` of ``count`` processes, in their given order."""
    return [c for c in cameras if shard_of(c.id, count) == index]


def assignment(camera_ids: Iterable[str], count: int) -> dict[int, list[str]]:
    """Every shard's camera ids, e.g. to print or check a fleet plan."""
    out: dict[int, list[str]] = {i: [] for i in range(count)}
    for cid in camera_ids:
        out[shard_of(cid, count)].append(cid)
    return out
