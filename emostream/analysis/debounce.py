"""Turns a noisy stream of per-frame class probabilities into a few meaningful events.

Pure and deterministic: the only clock is the media timestamp passed in, so replaying a file gives
exactly the same events. Per key (a face track, later an audio source) it keeps an exponentially
smoothed probability vector whose weights decay with a half-life in media seconds, so irregular
frame spacing is handled correctly. A new emotion takes over only when its smoothed probability
reaches ``enter``, leads the current emotion by ``margin`` (hysteresis) and stays so for
``min_dwell`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Decision:
    """Something worth telling subscribers about one key, at media time ``ts``."""

    kind: str  # "appeared" | "changed" | "lost"
    key: int
    ts: float
    emotion: str | None = None
    previous: str | None = None
    confidence: float | None = None
    scores: dict[str, float] | None = None
    dwell: float | None = None
    shares: dict[str, float] | None = None
    # set by the analyzers, not by the debouncer: fields the event adds (a face's box, a voice's
    # speaker) and the modality when it is not the analyzer's own (the voice analysis's fused events)
    extra: dict[str, object] | None = None
    modality: str | None = None


@dataclass
class _State:
    first_ts: float
    last_ts: float
    smoothed: np.ndarray
    current: int | None = None
    candidate: int | None = None
    candidate_since: float = 0.0
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))


class Debouncer:
    """Smoothing, hysteresis and minimum dwell for many keys sharing one label set."""

    def __init__(
        self,
        labels: tuple[str, ...],
        half_life: float = 0.6,
        enter: float = 0.5,
        margin: float = 0.1,
        min_dwell: float = 1.0,
    ) -> None:
        self.labels = labels
        self.half_life = half_life
        self.enter = enter
        self.margin = margin
        self.min_dwell = min_dwell
        self._states: dict[int, _State] = {}

    def _scores(self, v: np.ndarray) -> dict[str, float]:
        return {k: round(float(p), 4) for k, p in zip(self.labels, v, strict=True)}

    def update(self, key: int, ts: float, probs: np.ndarray | tuple[float, ...]) -> list[Decision]:
        """Feed one observation; ``ts`` must not decrease for a key (an older one is ignored)."""
        p = np.asarray(probs, dtype=np.float64)
        if p.shape != (len(self.labels),) or not np.all(np.isfinite(p)):
            return []
        total = p.sum()
        p = p / total if total > 0 else np.full_like(p, 1.0 / len(p))
        out: list[Decision] = []
        st = self._states.get(key)
        if st is None:
            st = _State(ts, ts, p.copy(), seconds=np.zeros(len(self.labels)))
            self._states[key] = st
            out.append(Decision("appeared", key, ts, scores=self._scores(p)))
        elif ts < st.last_ts:
            return []
        else:
            dt = ts - st.last_ts
            st.seconds[int(np.argmax(st.smoothed))] += dt
            alpha = 1.0 - 0.5 ** (dt / self.half_life)
            st.smoothed = (1.0 - alpha) * st.smoothed + alpha * p
            st.last_ts = ts
        s = st.smoothed
        leader = int(np.argmax(s))
        qualifies = leader != st.current and s[leader] >= self.enter
        if qualifies and st.current is not None:
            qualifies = s[leader] - s[st.current] >= self.margin
        if not qualifies:
            st.candidate = None
            return out
        if st.candidate != leader:
            st.candidate, st.candidate_since = leader, ts
        if ts - st.candidate_since >= self.min_dwell:
            previous = None if st.current is None else self.labels[st.current]
            st.current, st.candidate = leader, None
            out.append(
                Decision(
                    "changed",
                    key,
                    ts,
                    emotion=self.labels[leader],
                    previous=previous,
                    confidence=round(float(s[leader]), 4),
                    scores=self._scores(s),
                )
            )
        return out

    def end(self, key: int, ts: float | None = None) -> Decision | None:
        """The key is gone: report how long it was seen and the share of time of each emotion."""
        st = self._states.pop(key, None)
        if st is None:
            return None
        dwell = st.last_ts - st.first_ts
        shares = st.seconds / dwell if dwell > 0 else np.eye(len(self.labels))[int(np.argmax(st.smoothed))]
        current = None if st.current is None else self.labels[st.current]
        return Decision(
            "lost",
            key,
            st.last_ts if ts is None else ts,
            emotion=current,
            dwell=round(dwell, 3),
            shares=self._scores(shares),
        )
