"""Accuracy of the speech-emotion model on labelled recordings (``emostream eval speech DIR``).

Two folder layouts are read:

* RAVDESS as published: ``DIR/Actor_XX/03-01-EE-II-SS-RR-AA.wav|flac`` (EE is the emotion code 01..08);
* ``DIR/<emotion>/*.wav|flac``, folders matched to labels by name, case-insensitive, with synonyms
  (``fear``/``fearful``, ``surprise``/``surprised``, ``disgusted``, ``anger``, ``happiness``, …).

Each recording is scored as training scores it
(:meth:`~emostream.analysis.voice.speech.SpeechClassifier.classify_clip`: trimmed of silence, cut into
3 s windows, probabilities averaged). A folder may hold a subset of the model's classes (a 6-class
corpus such as TESS or EmoDB): it is scored on the classes it holds only, the prediction being the
most probable of those, and the report names the classes it dropped. Macro-F1 averages the F1 of
the classes present. ``--room SEED`` also plays every recording through the seeded room simulation
of :mod:`emostream.tools.evaluate.room` (RT60 0.4–0.8 s, babble and pink noise at 5–15 dB SNR) and
reports clean and room figures side by side, with the room accuracy per SNR bucket.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emostream.analysis.voice.features import load_audio, trim
from emostream.analysis.voice.speech import SpeechClassifier
from emostream.errors import AudioError
from emostream.tools.evaluate.corpus import labelled_clips
from emostream.tools.evaluate.room import Room, pool_indices, room_version, snr_bucket
from emostream.types import SPEECH_EMOTIONS

__all__ = ["SpeechEval", "SpeechReport", "cmd_eval_speech", "evaluate_speech", "restricted_argmax"]


@dataclass
class SpeechReport:
    """Predictions against labels, with the figures ``eval speech`` prints."""

    labels: tuple[str, ...]
    truth: list[int] = field(default_factory=list)
    pred: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.truth)

    @property
    def present(self) -> list[int]:
        return sorted(set(self.truth))

    def confusion(self) -> np.ndarray:
        k = len(self.labels)
        m = np.zeros((k, k), np.int64)
        for t, p in zip(self.truth, self.pred, strict=True):
            m[t, p] += 1
        return m

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.array(self.truth) == np.array(self.pred))) if self.truth else 0.0

    def f1(self) -> dict[str, float]:
        m = self.confusion()
        out: dict[str, float] = {}
        for i in self.present:
            tp, fp, fn = m[i, i], m[:, i].sum() - m[i, i], m[i, :].sum() - m[i, i]
            out[self.labels[i]] = float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0
        return out

    @property
    def macro_f1(self) -> float:
        f = self.f1()
        return float(np.mean(list(f.values()))) if f else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "f1": {k: round(v, 4) for k, v in self.f1().items()},
            "labels": list(self.labels),
            "confusion": self.confusion().tolist(),
            "failed": self.failed,
        }

    def text(self) -> str:
        lines = [f"clips {self.n}  accuracy {self.accuracy:.4f}  macro-F1 {self.macro_f1:.4f}"]
        lines += [f"  F1 {k:<10} {v:.4f}" for k, v in self.f1().items()]
        short = [lb[:5] for lb in self.labels]
        lines.append("confusion (rows: truth, columns: predicted)")
        lines.append(" " * 11 + " ".join(f"{s:>5}" for s in short))
        m = self.confusion()
        for i in self.present:
            lines.append(f"  {short[i]:<8} " + " ".join(f"{v:>5d}" for v in m[i]))
        if self.failed:
            lines.append(f"unreadable: {len(self.failed)} (first: {self.failed[0]})")
        return "\n".join(lines)


@dataclass
class SpeechEval:
    """What ``eval speech`` measured: clean figures, and with ``--room`` the same recordings in a room."""

    clean: SpeechReport
    scored: list[str]  # the classes scored: those the folder holds
    dropped: list[str]  # the model's classes the folder lacks: never predicted here
    ignored: list[str]  # folders that are not a known emotion
    room: SpeechReport | None = None
    room_seed: int | None = None
    rooms: list[Room] = field(default_factory=list)

    def buckets(self) -> dict[str, SpeechReport]:
        """The room report split by SNR bucket (5-8, 8-11, 11-15 dB)."""
        out: dict[str, SpeechReport] = {}
        if self.room is None:
            return out
        for t, p, r in zip(self.room.truth, self.room.pred, self.rooms, strict=True):
            rep = out.setdefault(snr_bucket(r.snr_db), SpeechReport(self.room.labels))
            rep.truth.append(t)
            rep.pred.append(p)
        return dict(sorted(out.items(), key=lambda kv: float(kv[0].split("-")[0])))

    def text(self) -> str:
        lines = []
        if self.dropped:
            lines.append(
                f"scored on the {len(self.scored)} classes the folder holds ({', '.join(self.scored)}); "
                f"dropped: {', '.join(self.dropped)}"
            )
        if self.room is None:
            return "\n".join([*lines, self.clean.text()])
        lines += ["clean:", self.clean.text(), f"room (seed {self.room_seed}):", self.room.text()]
        lines.append(f"{'':<12} {'clean':>7} {'room':>7}")
        lines.append(f"{'accuracy':<12} {self.clean.accuracy:>7.4f} {self.room.accuracy:>7.4f}")
        lines.append(f"{'macro-F1':<12} {self.clean.macro_f1:>7.4f} {self.room.macro_f1:>7.4f}")
        for name, rep in self.buckets().items():
            lines.append(f"room {name:<7} {rep.n:>4} clips  accuracy {rep.accuracy:.4f}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {**self.clean.as_dict(), "scored": self.scored, "dropped": self.dropped}
        if self.room is not None:
            out["room"] = {
                **self.room.as_dict(),
                "seed": self.room_seed,
                "snr_buckets": {
                    k: {"n": r.n, "accuracy": round(r.accuracy, 4)} for k, r in self.buckets().items()
                },
            }
        return out


def restricted_argmax(probs: np.ndarray, model_labels: tuple[str, ...], present: set[int]) -> int:
    """The index in SPEECH_EMOTIONS of the most probable model class among the ``present`` ones."""
    best, best_p = -1, -1.0
    for lb, p in zip(model_labels, probs, strict=True):
        i = SPEECH_EMOTIONS.index(lb)
        if i in present and p > best_p:
            best, best_p = i, float(p)
    return best


def evaluate_speech(root: Path, clf: SpeechClassifier, room_seed: int | None = None) -> SpeechEval:
    """Score every labelled recording under ``root`` on the classes the folder holds (and, with
    ``room_seed``, the same recordings through :mod:`~emostream.tools.evaluate.room`); unreadable ones
    are listed in the report, not fatal."""
    clips, ignored = labelled_clips(root)
    if not clips:
        raise ValueError(f"no labelled .wav/.flac recordings under {root} (Actor_XX/ or <emotion>/ folders)")
    unknown = [lb for lb in clf.labels if lb not in SPEECH_EMOTIONS]
    if unknown:
        raise ValueError(f"model labels {unknown} are not speech emotions {list(SPEECH_EMOTIONS)}")
    present = {c.label for c in clips}
    scored = [lb for i, lb in enumerate(SPEECH_EMOTIONS) if i in present]
    dropped = [lb for lb in clf.labels if SPEECH_EMOTIONS.index(lb) not in present]
    ev = SpeechEval(SpeechReport(SPEECH_EMOTIONS), scored, dropped, ignored)
    pool: list[tuple[str, str, np.ndarray]] = []
    if room_seed is not None:
        ev.room, ev.room_seed = SpeechReport(SPEECH_EMOTIONS), room_seed
        for i in pool_indices(len(clips), room_seed):
            try:
                pool.append((clips[i].path.name, clips[i].speaker, trim(load_audio(clips[i].path))))
            except AudioError:
                continue  # reported when the clip itself is scored below
    for c in clips:
        try:
            y = load_audio(c.path)
            probs = clf.classify_clip(y)
        except AudioError as exc:
            ev.clean.failed.append(f"{c.path}: {exc}")
            continue
        ev.clean.truth.append(c.label)
        ev.clean.pred.append(restricted_argmax(probs, clf.labels, present))
        if ev.room is not None:
            wet, room = room_version(trim(y), c.path.name, c.speaker, pool, room_seed)
            ev.room.truth.append(c.label)
            ev.room.pred.append(restricted_argmax(clf.classify_clip(wet), clf.labels, present))
            ev.rooms.append(room)
    return ev


def cmd_eval_speech(
    root: Path, model: str | None, as_json: bool, threads: int = 1, room: int | None = None
) -> int:
    """``emostream eval speech DIR [--room SEED]``: the text report; with ``--json``, one JSON object last."""
    clf = SpeechClassifier(model, threads=threads)
    try:
        ev = evaluate_speech(root, clf, room)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    print(ev.text())
    if ev.ignored:
        print(f"ignored folders: {', '.join(ev.ignored)}")
    if as_json:
        print(json.dumps({"model": str(model or "default"), **ev.as_dict(), "ignored": ev.ignored}))
    return 0
