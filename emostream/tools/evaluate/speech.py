"""Accuracy of the speech-emotion model on labelled recordings (``emostream eval speech DIR``).

Two folder layouts are read:

* RAVDESS as published: ``DIR/Actor_XX/03-01-EE-II-SS-RR-AA.wav|flac`` (EE is the emotion code 01..08);
* ``DIR/<emotion>/*.wav|flac``, folders matched to labels by name, case-insensitive, with synonyms
  (``fear``/``fearful``, ``surprise``/``surprised``, ``disgusted``, ``anger``, ``happiness``, …).

Each recording is scored as training scores it
(:meth:`~emostream.analysis.voice.speech.SpeechClassifier.classify_clip`: trimmed of silence, cut into
3 s windows, probabilities averaged). Accuracy counts every clip present; a clip predicted as a class
absent from the folder is simply wrong. Macro-F1 averages the F1 of the classes present in the folder.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emostream.analysis.voice.features import load_audio
from emostream.analysis.voice.speech import SpeechClassifier
from emostream.errors import AudioError
from emostream.tools.evaluate.corpus import labelled_clips
from emostream.types import SPEECH_EMOTIONS

__all__ = ["SpeechReport", "cmd_eval_speech", "evaluate_speech"]


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


def evaluate_speech(root: Path, clf: SpeechClassifier) -> tuple[SpeechReport, list[str]]:
    """Score every labelled recording under ``root``; unreadable or unusable ones are listed, not fatal."""
    clips, ignored = labelled_clips(root)
    if not clips:
        raise ValueError(f"no labelled .wav/.flac recordings under {root} (Actor_XX/ or <emotion>/ folders)")
    unknown = [lb for lb in clf.labels if lb not in SPEECH_EMOTIONS]
    if unknown:
        raise ValueError(f"model labels {unknown} are not speech emotions {list(SPEECH_EMOTIONS)}")
    rep = SpeechReport(SPEECH_EMOTIONS)
    for c in clips:
        try:
            probs = clf.classify_clip(load_audio(c.path))
        except AudioError as exc:
            rep.failed.append(f"{c.path}: {exc}")
            continue
        pred = clf.labels[int(np.argmax(probs))]
        rep.truth.append(c.label)
        rep.pred.append(SPEECH_EMOTIONS.index(pred))
    return rep, ignored


def cmd_eval_speech(root: Path, model: str | None, as_json: bool, threads: int = 1) -> int:
    """``emostream eval speech DIR``: the text report, and with ``--json`` one JSON object last."""
    clf = SpeechClassifier(model, threads=threads)
    try:
        rep, ignored = evaluate_speech(root, clf)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emostream: {exc}", file=sys.stderr)
        return 2
    print(rep.text())
    if ignored:
        print(f"ignored folders: {', '.join(ignored)}")
    if as_json:
        print(json.dumps({"model": str(model or "default"), **rep.as_dict(), "ignored": ignored}))
    return 0
