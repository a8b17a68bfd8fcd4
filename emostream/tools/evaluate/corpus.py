"""Labelled data as users download it: face images in ``<emotion>/`` folders, speech recordings in
RAVDESS's ``Actor_XX/`` layout or in ``<emotion>/`` folders.

Read by ``emostream eval`` and by the training scripts in ``export/``, so a model is trained and
scored on exactly the same reading of a folder.

Speech folders are matched to labels by name, case-insensitive, with synonyms (``fear``/``fearful``,
``surprise``/``surprised``, ``disgusted``, ``anger``, ``happiness``, …); a RAVDESS file name
``03-01-EE-II-SS-RR-AA`` carries the emotion code EE (01..08) and the actor AA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from emostream.types import FACE_EMOTIONS, SPEECH_EMOTIONS

__all__ = [
    "ALIASES",
    "AUDIO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "Clip",
    "folder_label",
    "labelled_clips",
    "labelled_images",
    "ravdess_clip",
]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def labelled_images(root: Path, limit: int = 0) -> tuple[list[Path], list[int], list[str]]:
    """(paths, label indices in FACE_EMOTIONS, ignored folder names) under ``root/<emotion>/``."""
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    paths: list[Path] = []
    labels: list[int] = []
    ignored: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        name = folder.name.lower()
        if name not in FACE_EMOTIONS:
            ignored.append(folder.name)
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for p in files[: limit or None]:
            paths.append(p)
            labels.append(FACE_EMOTIONS.index(name))
    if not paths:
        raise FileNotFoundError(f"no images in {root}/<emotion>/ (emotions: {', '.join(FACE_EMOTIONS)})")
    return paths, labels, ignored


AUDIO_SUFFIXES = {".wav", ".flac"}
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
ALIASES = {
    "neutral": "neutral",
    "calm": "calm",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "angry": "angry",
    "anger": "angry",
    "fear": "fearful",
    "fearful": "fearful",
    "disgust": "disgust",
    "disgusted": "disgust",
    "surprise": "surprised",
    "surprised": "surprised",
    "ps": "surprised",  # TESS's "pleasant surprise"
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
}


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int  # index in SPEECH_EMOTIONS
    speaker: str  # RAVDESS actor ("01".."24") or "" when unknown


def ravdess_clip(path: Path) -> Clip | None:
    """The label and actor of a RAVDESS file name (audio-only or audio-visual speech/song), else None."""
    m = _RAVDESS.match(path.stem)
    if m is None or not 1 <= int(m.group(3)) <= len(SPEECH_EMOTIONS):
        return None
    return Clip(path, int(m.group(3)) - 1, m.group(7))


def folder_label(name: str) -> tuple[str, str] | None:
    """(emotion, speaker) of an emotion folder: ``fear``, or ``<speaker>_<emotion>`` as TESS names them
    (``OAF_Fear``, ``YAF_pleasant_surprised``); None when the name is not an emotion."""
    low = name.lower()
    if low in ALIASES:
        return ALIASES[low], ""
    speaker, _, rest = name.partition("_")
    if rest and rest.lower() in ALIASES:
        return ALIASES[rest.lower()], speaker
    return None


def labelled_clips(root: Path) -> tuple[list[Clip], list[str]]:
    """Every labelled recording under ``root`` (either layout) and the names of ignored folders."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    clips: list[Clip] = []
    ignored: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        found = folder_label(folder.name)
        if found is not None:
            clips += [Clip(p, SPEECH_EMOTIONS.index(found[0]), found[1]) for p in files]
        elif re.match(r"^actor_\d+$", folder.name, re.IGNORECASE):
            clips += [c for p in files if (c := ravdess_clip(p)) is not None]
        else:
            ignored.append(folder.name)
    return clips, ignored
