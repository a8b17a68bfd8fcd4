"""What the dashboard knows, built from events alone: tracked people per camera and emotion shares over time.

Pure and clock-free (every method takes the time it should use), so it is unit-testable and can be
rebuilt from a replay of the stream. People are the tracks opened by an ``appeared`` event and closed
by a ``lost`` one; their emotion is the last stable one, or the top first score (marked provisional)
until a stable one is known. The timeline integrates, per camera, the person-seconds spent in each
emotion into fixed wall-time buckets, so a bucket's shares say how much of the people-time in that
slice each emotion took.

Who speaks: a voice event naming ``speaker_track`` marks that face as speaking (until its segment
stops) and the voice row shows whose it is; a ``person.emotion`` event gives the face its fused
(face + voice) emotion. Face tracks and voice segments are numbered apart, so people are keyed by
(modality, track).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

_OPENED = {"face.appeared", "voice.started"}
_CLOSED = {"face.lost", "voice.stopped"}


def event_wall(event: dict[str, Any]) -> float | None:
    """The event's ``time`` (ISO 8601, UTC) as seconds since the epoch, or None if absent or invalid."""
    text = event.get("time")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass
class Person:
    """One open track as the page shows it."""

    track: int
    modality: str
    emotion: str | None
    confidence: float | None
    provisional: bool
    since: float  # wall time the track appeared
    updated: float  # wall time of its last event
    speaking: bool = False  # face: the voice of an open segment is attributed to it
    fused: str | None = None  # face: its last fused (face + voice) emotion
    speaker: int | None = None  # voice: the face track the segment is attributed to


@dataclass
class CameraView:
    people: dict[tuple[str, int], Person] = field(default_factory=dict)
    buckets: dict[int, dict[str, float]] = field(default_factory=dict)  # bucket index -> emotion -> seconds
    events: int = 0
    last_event: float | None = None
    recent: list[dict[str, Any]] = field(default_factory=list)


class DashboardState:
    """Per-camera people and timeline; feed it with :meth:`apply` and :meth:`advance`."""

    def __init__(self, window: float = 300.0, bucket: float = 5.0, recent: int = 8) -> None:
        self.window = window
        self.bucket = bucket
        self.recent = recent
        self.cameras: dict[str, CameraView] = {}
        self.clock: float | None = None  # time up to which people-time has been integrated

    def camera(self, cam: str) -> CameraView:
        return self.cameras.setdefault(cam, CameraView())

    def advance(self, now: float) -> None:
        """Integrate every open track's current emotion from the last call up to ``now``."""
        if self.clock is None or now <= self.clock:
            self.clock = now if self.clock is None else self.clock
            return
        start, self.clock = self.clock, now
        for view in self.cameras.values():
            shown = [p.emotion for p in view.people.values() if p.emotion]
            if shown:
                t = start
                while t < now:
                    idx = int(t // self.bucket)
                    end = min(now, (idx + 1) * self.bucket)
                    slot = view.buckets.setdefault(idx, {})
                    for emo in shown:
                        slot[emo] = slot.get(emo, 0.0) + (end - t)
                    t = end
            oldest = int((now - self.window) // self.bucket)
            for idx in [i for i in view.buckets if i < oldest]:
                del view.buckets[idx]

    def apply(self, event: dict[str, Any], now: float) -> None:
        """Account for one event; its own ``time`` orders it, clamped so the clock never goes backwards."""
        cam = event.get("camera")
        if not isinstance(cam, str):
            return
        at = min(event_wall(event) or now, now)
        self.advance(max(at, self.clock or at))
        at = self.clock if self.clock is not None else at
        view = self.camera(cam)
        view.events += 1
        view.last_event = at
        view.recent = [_brief(event), *view.recent][: self.recent]
        kind, track = event.get("type"), event.get("track")
        if not isinstance(track, int):
            return
        modality = str(event.get("modality", "face"))
        if modality == "fused":
            face = view.people.get(("face", track))
            if face is not None and kind == "person.emotion" and event.get("emotion"):
                face.fused, face.updated = event.get("emotion"), at
            return
        key = (modality, track)
        if modality == "voice" and "speaker_track" in event:
            self._speaker(view, key, event.get("speaker_track"), kind in _CLOSED)
        if kind in _OPENED:
            scores = event.get("scores") or {}
            top = max(scores, key=scores.get) if scores else None
            view.people[key] = Person(
                track,
                modality,
                event.get("emotion") or top,
                event.get("confidence") or (scores.get(top) if top else None),
                not event.get("emotion"),
                at,
                at,
            )
            view.people[key].speaker = event.get("speaker_track")
        elif kind in _CLOSED:
            view.people.pop(key, None)
        elif kind == "emotion.changed":
            person = view.people.get(key)
            if person is None:  # its ``appeared`` came before we started reading
                person = view.people[key] = Person(track, modality, None, None, False, at, at)
            if modality == "voice":
                person.speaker = event.get("speaker_track")
            person.emotion, person.confidence = event.get("emotion"), event.get("confidence")
            person.provisional, person.updated = False, at

    @staticmethod
    def _speaker(view: CameraView, key: tuple[str, int], speaker: object, closed: bool) -> None:
        """The face a voice segment is attributed to speaks while the segment is open."""
        for p in view.people.values():
            if p.modality == "face":
                p.speaking = not closed and p.track == speaker
        if key in view.people:
            view.people[key].speaker = speaker if isinstance(speaker, int) else None

    def reconcile(self, cam: str, active: int, checked: float, grace: float = 3.0) -> bool:
        """The daemon says ``cam`` tracks ``active`` faces: if none, forget people not updated lately.

        Covers tracks whose ``lost`` event never came (the daemon was killed or restarted; the caller
        passes 0 when it saw the daemon restart). Returns True if anything changed.
        """
        view = self.cameras.get(cam)
        if view is None or active > 0:
            return False
        stale = [k for k, p in view.people.items() if p.updated < checked - grace]
        for t in stale:
            del view.people[t]
        return bool(stale)

    def snapshot(self, now: float) -> dict[str, Any]:
        """A JSON-ready view: per camera its people and the timeline's buckets, oldest first."""
        first = int((now - self.window) // self.bucket) + 1
        last = int(now // self.bucket)
        out: dict[str, Any] = {}
        for cam, view in sorted(self.cameras.items()):
            timeline = []
            for idx in range(first, last + 1):
                slot = view.buckets.get(idx, {})
                total = sum(slot.values())
                shares = {k: round(v / total, 4) for k, v in sorted(slot.items())} if total else {}
                timeline.append({"t": idx * self.bucket, "shares": shares})
            people = sorted(view.people.values(), key=lambda p: (p.modality != "face", p.track))
            out[cam] = {
                "people": [asdict(p) for p in people],
                "timeline": timeline,
                "events": view.events,
                "last_event": view.last_event,
                "recent": view.recent,
            }
        return {"bucket": self.bucket, "window": self.window, "cameras": out}


def _brief(event: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "type",
        "modality",
        "track",
        "emotion",
        "previous",
        "confidence",
        "ts",
        "time",
        "speaker_track",
    )
    return {k: event.get(k) for k in keys}
