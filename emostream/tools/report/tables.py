"""The report's tables: events as JSONL and as a flat CSV, and one summary row per track.

The CSV has one row per event and only scalar cells (scores and shares become ``score_<label>`` and
``share_<label>`` columns, a null is an empty cell), so ``pandas.read_csv`` gives a usable frame
without any parsing. Tracks are keyed by (camera, modality, track): voice segments and the fused
(face + voice) rows of a speaking face sit beside the face tracks, a voice segment with the face
track it was attributed to (``speaker``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BASE_COLUMNS = (
    "id",
    "type",
    "camera",
    "modality",
    "track",
    "ts",
    "time",
    "emotion",
    "previous",
    "confidence",
    "dwell",
    "speaker_track",
    "speaker_confidence",
    "segment",
)
TRACK_COLUMNS = (
    "camera", "modality", "track", "start", "end", "dwell", "changes", "dominant", "emotions", "speaker"
)  # fmt: skip
_OPEN = ("face.appeared", "voice.started")


def labels_of(events: Iterable[dict[str, Any]]) -> list[str]:
    """Every class label seen in scores or shares, in first-seen order."""
    seen: dict[str, None] = {}
    for ev in events:
        for key in ("scores", "shares"):
            for label in ev.get(key) or {}:
                seen.setdefault(label, None)
    return list(seen)


def write_jsonl(events: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev, sort_keys=True, separators=(",", ":")) + "\n")
    return path


def write_events_csv(events: list[dict[str, Any]], path: Path) -> Path:
    labels = labels_of(events)
    columns = [*BASE_COLUMNS, "box_x", "box_y", "box_w", "box_h", "fusion_face", "fusion_voice"]
    columns += [*(f"score_{k}" for k in labels), *(f"share_{k}" for k in labels)]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        for ev in events:
            row = {k: ev.get(k) for k in BASE_COLUMNS}
            for key, prefix in (("scores", "score_"), ("shares", "share_"), ("fusion", "fusion_")):
                for label, value in (ev.get(key) or {}).items():
                    row[prefix + label] = value
            for name, value in zip(("box_x", "box_y", "box_w", "box_h"), ev.get("box") or (), strict=False):
                row[name] = value
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def track_key(ev: dict[str, Any]) -> tuple[str, str, int]:
    return (str(ev.get("camera")), str(ev.get("modality", "face")), int(ev.get("track", 0)))


def segments(
    events: list[dict[str, Any]],
) -> dict[tuple[str, str, int], list[tuple[float, float, str | None]]]:
    """Per track, (start, end, emotion) spans of its stable emotion over media time (None before one)."""
    out: dict[tuple[str, str, int], list[tuple[float, float, str | None]]] = {}
    open_: dict[tuple[str, str, int], tuple[float, str | None]] = {}
    last_ts = max((float(e.get("ts", 0.0)) for e in events), default=0.0)
    for ev in events:
        key, ts = track_key(ev), float(ev.get("ts", 0.0))
        fused_first = ev["type"] == "person.emotion" and key not in open_
        if ev["type"] in _OPEN or fused_first:  # a fused row opens with its first estimate
            open_[key] = (ts, ev.get("emotion") if fused_first else None)
        elif ev["type"] in ("emotion.changed", "person.emotion"):
            start, emo = open_.get(key, (ts, None))
            out.setdefault(key, []).append((start, ts, emo))
            open_[key] = (ts, ev.get("emotion"))
        elif key in open_:
            start, emo = open_.pop(key)
            out.setdefault(key, []).append((start, ts, emo))
    for key, (start, emo) in open_.items():  # never lost (should not happen for a file that ended)
        out.setdefault(key, []).append((start, last_ts, emo))
    return {k: [s for s in v if s[1] >= s[0]] for k, v in out.items()}


def track_summary(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One dict per track: span, dwell, number of changes, dominant emotion and per-emotion shares."""
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for ev in events:
        key = track_key(ev)
        row = rows.setdefault(
            key,
            {"camera": key[0], "modality": key[1], "track": key[2], "start": ev.get("ts"), "changes": 0},
        )
        row["end"] = ev.get("ts")
        if "speaker_track" in ev:
            row["speaker"] = ev["speaker_track"]  # a segment's last word on who spoke it
        if ev["type"] == "emotion.changed" or (ev["type"] == "person.emotion" and ev.get("emotion")):
            row["changes"] += 1
            row.setdefault("sequence", []).append(ev.get("emotion"))
        if ev.get("shares") is not None:
            row["shares"] = ev["shares"]
            row["dwell"] = ev.get("dwell")
    out = []
    for row in rows.values():
        shares = row.get("shares") or {}
        row["dwell"] = row.get("dwell", round(float(row["end"]) - float(row["start"]), 3))
        row["dominant"] = max(shares, key=shares.get) if shares and max(shares.values()) > 0 else None
        row["emotions"] = " > ".join(e or "?" for e in row.pop("sequence", []))
        out.append(row)
    return sorted(out, key=lambda r: (r["camera"], r["modality"], r["track"]))


def write_tracks_csv(tracks: list[dict[str, Any]], labels: list[str], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*TRACK_COLUMNS, *(f"share_{k}" for k in labels)])
        for t in tracks:
            shares = t.get("shares") or {}
            cells = [t.get(k) for k in TRACK_COLUMNS] + [shares.get(k) for k in labels]
            writer.writerow(["" if c is None else c for c in cells])
    return path


def speakers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per voice segment (its ``voice.stopped``): the face track it was attributed to, or None."""
    return [
        {"camera": e["camera"], "segment": e["track"], "ts": e["ts"], "speaker_track": e["speaker_track"],
         "speaker_confidence": e.get("speaker_confidence"), "emotion": e.get("emotion")}
        for e in events
        if e["type"] == "voice.stopped" and "speaker_track" in e
    ]  # fmt: skip


def overall_shares(tracks: list[dict[str, Any]]) -> dict[str, float]:
    """Each emotion's share of all tracked face time (face tracks' shares weighted by their dwell)."""
    totals: dict[str, float] = {}
    for t in (t for t in tracks if t["modality"] == "face"):
        for label, share in (t.get("shares") or {}).items():
            totals[label] = totals.get(label, 0.0) + share * float(t.get("dwell") or 0.0)
    whole = sum(totals.values())
    return {k: round(v / whole, 4) for k, v in totals.items()} if whole > 0 else {}
