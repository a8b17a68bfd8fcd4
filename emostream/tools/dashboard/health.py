"""The daemon's health as the dashboard shows it, read from its own metrics endpoint.

Each configured endpoint (``http://127.0.0.1:9108`` by default) is polled for ``/metrics`` and
``/readyz``; the Prometheus text is reduced to what a person watching the page needs: is the daemon
up and ready, is its Redis up, and per camera whether the source delivers, the analysed frames per
second (from the counter's growth between polls) and how many faces are tracked. A counter that
went back means the daemon restarted.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 2.0
RATE_WINDOW = 5.0  # seconds over which frames/s is averaged


def parse_metrics(text: str) -> dict[str, Any]:
    """Reduce a /metrics page to daemon-level values and per-camera values."""
    daemon: dict[str, Any] = {}
    cams: dict[str, dict[str, float]] = {}
    per_camera = {
        "emostream_source_up": "source_up",
        "emostream_frames_analysed_total": "analysed",
        "emostream_tracks_active": "tracks",
        "emostream_queue_depth": "queue",
    }
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in per_camera and "camera" in s.labels:
                cams.setdefault(s.labels["camera"], {})[per_camera[s.name]] = s.value
            elif s.name == "emostream_frames_dropped_total" and "camera" in s.labels:
                slot = cams.setdefault(s.labels["camera"], {})
                slot["dropped"] = slot.get("dropped", 0.0) + s.value
            elif s.name == "emostream_build_info":
                daemon["version"] = s.labels.get("version")
            elif s.name == "emostream_redis_up":
                daemon["redis_up"] = bool(s.value)
            elif s.name == "emostream_events_published_total":
                daemon["published"] = int(s.value)
            elif s.name == "emostream_publish_buffered":
                daemon["buffered"] = int(s.value)
    daemon["cameras"] = cams
    return daemon


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:  # /readyz answers 503 with a body when not ready
        return exc.code, exc.read()


class HealthProbe:
    """Polls one daemon's metrics endpoint; :meth:`poll` blocks (run it in a worker thread)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # camera -> (monotonic time, analysed frames) samples of the last RATE_WINDOW seconds
        self._prev: dict[str, deque[tuple[float, float]]] = {}
        self.last: dict[str, Any] = {"url": self.base_url, "up": False, "error": "not polled yet"}

    def poll(self) -> dict[str, Any]:
        now = time.monotonic()
        out: dict[str, Any] = {"url": self.base_url, "checked": time.time()}
        try:
            status, body = _get(self.base_url + "/metrics")
            if status != 200:
                raise OSError(f"/metrics answered {status}")
            out.update(parse_metrics(body.decode("utf-8", "replace")))
            status, body = _get(self.base_url + "/readyz")
            try:
                out["ready"] = bool(json.loads(body).get("ready")) and status == 200
            except ValueError:
                out["ready"] = status == 200
            out["up"], out["error"] = True, None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            self.last = {**out, "up": False, "ready": False, "error": str(reason)[:200], "cameras": {}}
            return self.last
        for cam, values in out["cameras"].items():
            frames = values.get("analysed", 0.0)
            samples = self._prev.setdefault(cam, deque())
            if samples and frames < samples[-1][1]:
                values["restarted"] = True  # a counter only goes back when its process is new
                samples.clear()
            while samples and now - samples[0][0] > RATE_WINDOW:
                samples.popleft()
            if samples and now > samples[0][0]:
                values["fps"] = round((frames - samples[0][1]) / (now - samples[0][0]), 2)
            samples.append((now, frames))
        self.last = out
        return out
