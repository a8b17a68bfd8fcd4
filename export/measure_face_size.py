"""How small a face the emotion model can still read: FER+ accuracy against the face's width in pixels.

Each FER2013 PublicTest image (48×48, the face filling it, as the model was trained on) is shrunk
to ``w``×``w`` pixels (``INTER_AREA``, what a face that small on a camera holds) and handed to the
classifier's own crop, which brings it back to 48×48, exactly as a detected face of that width
would be. Scored against the FER+ crowd's majority label (the face model's headline figure)::

    .venv/bin/python -m export.measure_face_size [--widths 12 16 20 24 32 48] [--json out.json]

Rule for the default smallest face, written before the first measurement (2026-12-01): if the
accuracy at 16 px (today's floor, ``yunet.SMALLEST_FACE``) is more than 5 points below the 48 px
figure, the default ``min_face`` for small frames becomes the smallest width tried that is within 5
points of it; otherwise nothing changes. The measurement (0.64 at 16 px, 0.88 at 32, 0.90 at 48) says
32 px, and the default was **not** changed: it keeps 296 of the 456 faces of the shared clips (none of
`classroom` and `face-demographics-walking`), below the speed issue's bar of 0.95 of the default's
recall, and it cost the side-by-side speaker clip a segment. ``min_face: 32`` is the documented
choice for cameras whose people are near (README, Performance).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.runtime import shared_dir
from emostream.tools.evaluate.corpus import labelled_images
from emostream.tools.evaluate.faces import crowd_majority, prepare_whole


def accuracy_by_width(root: Path, votes: Path, widths: list[int]) -> dict[int, float]:
    clf = FaceEmotionClassifier()
    paths, _labels, _ignored = labelled_images(root, 0)
    truth = crowd_majority(root, paths, votes)
    keep = [i for i, t in enumerate(truth) if t >= 0]
    images = [cv2.imread(str(paths[i]), cv2.IMREAD_COLOR) for i in keep]
    out: dict[int, float] = {}
    for w in widths:
        crops = []
        for img in images:
            small = img if w == img.shape[1] else cv2.resize(img, (w, w), interpolation=cv2.INTER_AREA)
            crops.append(prepare_whole(clf, small, w, w))
        pred = np.concatenate([clf.predict(np.stack(crops[i : i + 256])) for i in range(0, len(crops), 256)])
        out[w] = round(float((pred.argmax(1) == truth[keep]).mean()), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[12, 16, 20, 24, 32, 48])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("needs the shared folder (EMOSTREAM_SHARED)")
    fer = shared / "data" / "fer2013"
    res = accuracy_by_width(fer / "test", fer / "ferplus_votes.csv", args.widths)
    for w, acc in res.items():
        print(f"face width {w:>3} px: FER+ majority accuracy {acc:.3f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
