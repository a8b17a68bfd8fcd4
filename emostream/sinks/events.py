"""The published event format: builds the JSON objects described by ``schema/event.v1.json``.

Event ids are ULIDs (48-bit millisecond time + 80 random bits, Crockford base32): unique, and
sortable by creation time, so consumers can de-duplicate and order without a central counter.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from emostream.analysis.debounce import Decision
from emostream.types import Event

SCHEMA_VERSION = 1
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TYPES = {
    "face": {"appeared": "face.appeared", "changed": "emotion.changed", "lost": "face.lost"},
    "voice": {"appeared": "voice.started", "changed": "emotion.changed", "lost": "voice.stopped"},
    "fused": {"appeared": "person.emotion", "changed": "person.emotion", "lost": "person.stopped"},
}


def new_id(now: float | None = None) -> str:
    """A ULID string for time ``now`` (seconds since the epoch)."""
    ms = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def iso_time(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_event(camera: str, modality: str, decision: Decision, wall: float) -> Event:
    """Wrap a debouncer decision into a versioned event for ``camera``."""
    payload: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "id": new_id(),
        "type": TYPES[modality][decision.kind],
        "camera": camera,
        "modality": modality,
        "track": decision.key,
        "emotion": decision.emotion,
        "previous": decision.previous,
        "confidence": decision.confidence,
        "scores": decision.scores,
        "ts": round(decision.ts, 3),
        "time": iso_time(wall),
    }
    if decision.kind == "lost":
        payload["dwell"] = decision.dwell
        payload["shares"] = decision.shares
    if decision.extra:
        payload.update(decision.extra)
    return Event(camera=camera, type=payload["type"], payload=payload, wall=wall)


def to_record(ev: Event) -> bytes:
    """One spool line: the payload and the capture wall time (for frame-to-publish latency)."""
    return json.dumps({"wall": ev.wall, "event": ev.payload}, separators=(",", ":")).encode()


def from_record(rec: bytes) -> Event:
    """The event of a spool line; ValueError / KeyError / TypeError when it is damaged."""
    d = json.loads(rec)
    p = d["event"]
    return Event(camera=p["camera"], type=p["type"], payload=p, wall=d["wall"])


def encode(event: Event) -> str:
    return json.dumps(event.payload, separators=(",", ":"), sort_keys=True)


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of version 1 events, as shipped in the package."""
    text = resources.files("emostream").joinpath("schema/event.v1.json").read_text(encoding="utf-8")
    return json.loads(text)
