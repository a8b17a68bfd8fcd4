"""The report's PNG plots (matplotlib, Agg backend: no display needed).

``timeline.png``: one row per track, its stable emotion over media time (grey until the first one);
``shares.png``: the share of all tracked time each emotion took. Colours match the dashboard's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

COLORS = {
    "angry": "#d64545",
    "disgust": "#7a9a01",
    "fear": "#8e44ad",
    "happy": "#f2a900",
    "sad": "#2f6fdb",
    "surprise": "#17a2b8",
    "neutral": "#8a94a6",
}
PENDING = "#d9dde3"


def color(label: str | None) -> str:
    if label is None:
        return PENDING
    if label in COLORS:
        return COLORS[label]
    return plt.get_cmap("tab20")(sum(map(ord, label)) % 20)


def plot_timeline(
    spans: dict[tuple[str, str, int], list[tuple[float, float, str | None]]], title: str, path: Path
) -> Path:
    keys = sorted(spans)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(1, len(keys))), dpi=100)
    seen: dict[str | None, None] = {}
    for row, key in enumerate(keys):
        for start, end, emo in spans[key]:
            ax.barh(row, max(end - start, 0.02), left=start, height=0.7, color=color(emo), edgecolor="white")
            seen.setdefault(emo, None)
    cameras = {k[0] for k in keys}
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels(
        [(f"{k[0]} " if len(cameras) > 1 else "") + f"{k[1]} #{k[2]}" for k in keys], fontsize=9
    )
    ax.invert_yaxis()
    ax.set_xlabel("media time (s)")
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=color(e), label=e or "no stable emotion yet") for e in seen]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if not keys:
        ax.text(0.5, 0.5, "no face tracked", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_shares(shares: dict[str, float], tracks: list[dict[str, Any]], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    labels = sorted(shares, key=shares.get, reverse=True)
    values = [shares[k] * 100 for k in labels]
    bars = ax.bar(labels, values, color=[color(k) for k in labels])
    for bar, v in zip(bars, values, strict=True):
        ax.annotate(f"{v:.0f}%", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
    seconds = sum(float(t.get("dwell") or 0.0) for t in tracks)
    ax.set_ylabel("share of tracked time leading (%)")
    ax.set_ylim(0, max([*values, 1.0]) * 1.15)
    ax.set_title(f"{title}: {len(tracks)} tracks, {seconds:.1f} s tracked", fontsize=11)
    if not labels:
        ax.text(0.5, 0.5, "no face tracked", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
