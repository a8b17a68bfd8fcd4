"""``emostream bench``: every frame of file sources through the whole path, with figures.

decode → detect → classify → track → debounce → publish to a real (private) Redis. Model loading and
Redis start-up are excluded from the timing; decoding is included.
"""

from __future__ import annotations

import time

import numpy as np

from emostream import __version__
from emostream.config import CameraConfig, ShardConfig
from emostream.daemon.localredis import LocalRedis
from emostream.daemon.pipeline import Pipeline
from emostream.daemon.run import build_config
from emostream.metrics import STAGES


def _stage_sums(pipe: Pipeline, sums: dict[str, list[float]]) -> None:
    for stage in STAGES:
        labels = {"stage": stage}
        sums[stage][0] += pipe.metrics.registry.get_sample_value("emostream_stage_seconds_sum", labels) or 0.0
        sums[stage][1] += (
            pipe.metrics.registry.get_sample_value("emostream_stage_seconds_count", labels) or 0.0
        )


def run_bench(
    sources: list[str],
    repeat: int = 1,
    redis_url: str | None = None,
    config: str | None = None,
    strict: bool = False,
    cameras: int = 1,
    batch: bool = True,
) -> dict[str, object]:
    """Models and settings (detector, thresholds, debounce) come from ``config``; its cameras are ignored.
    ``strict``: classify every face of every frame (``classifier.classify_every_frame``). ``cameras``:
    that many cameras play each source at once (their faces batched into shared model calls unless
    ``batch`` is False)."""
    local = None if redis_url else LocalRedis().start()
    try:
        cfg = build_config(config, [], redis_url or local.url)  # type: ignore[union-attr]
        cfg = cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update={"enabled": False})})
        update: dict[str, object] = {"classify_every_frame": True} if strict else {}
        if not batch:
            update["batch_wait_ms"] = 0.0
        cfg = cfg.model_copy(update={"classifier": cfg.classifier.model_copy(update=update)})
        probe = Pipeline(cfg)  # loads the models once, outside the timing
        models = (probe.detector, probe.classifier)
        frames = faces = classified = events = published = runs = batched = whole = 0
        cpu = 0.0
        seconds = 0.0
        latencies: list[float] = []
        sums = {stage: [0.0, 0.0] for stage in STAGES}
        # Sources run one after another, as the peer does, so per-stage times are not inflated by
        # threads of other cameras competing for the same core.
        for uri in [s for s in sources for _ in range(max(1, repeat))]:
            cams = [
                CameraConfig(id=f"bench{i}", url=uri, fps=0, realtime=False, loop=False, queue_size=8)
                for i in range(max(1, cameras))
            ]
            # Whole: daemon sharding (config or EMOSTREAM_SHARD_*) does not apply to a benchmark.
            run_cfg = cfg.model_copy(update={"cameras": cams, "shard": ShardConfig()})
            pipe = Pipeline(run_cfg, models=models)
            t0, c0 = time.perf_counter(), time.process_time()
            pipe.start()
            assert pipe.publisher is not None
            pipe.publisher.latencies = latencies
            pipe.wait()
            summary = pipe.stop(timeout=30)
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
            frames += int(summary["frames_analysed"])  # type: ignore[call-overload]
            faces += int(summary["faces"])  # type: ignore[call-overload]
            classified += sum(c.analyzer.classified for c in pipe.cameras.values())
            whole += sum(c.analyzer.scans for c in pipe.cameras.values())
            events += int(summary["events"])  # type: ignore[call-overload]
            published += int(summary["published"])  # type: ignore[call-overload]
            _stage_sums(pipe, sums)
            if pipe.batcher is not None:
                runs += pipe.batcher.runs
                batched += pipe.batcher.faces
        lat = np.array(latencies or [0.0]) * 1000.0
        return {
            "tool": "emostream",
            "version": __version__,
            "detector": probe.detector.name,
            "sources": len(sources),
            "frames": frames,
            "faces": faces,
            "faces_classified": classified,
            "whole_frame_searches": whole,  # the rest were searched only around the tracks
            "strict": strict,
            "cameras": max(1, cameras),
            "faces_classified_per_s": round(classified / seconds, 1) if seconds > 0 else 0.0,
            "batch": {"runs": runs, "faces": batched, "mean": round(batched / runs, 2) if runs else 0.0},
            "seconds": round(seconds, 3),
            "fps": round(frames / seconds, 2) if seconds > 0 else 0.0,
            "ms_per_frame": round(1000.0 * seconds / frames, 3) if frames else 0.0,
            "cpu_ms_per_frame": round(1000.0 * cpu / frames, 3) if frames else 0.0,
            "stage_ms": {k: round(1000.0 * v[0] / v[1], 3) if v[1] else 0.0 for k, v in sums.items()},
            "frame_to_publish_ms": {
                "p50": round(float(np.percentile(lat, 50)), 2),
                "p99": round(float(np.percentile(lat, 99)), 2),
            },
            "events": events,
            "published": published,
        }
    finally:
        if local is not None:
            local.cleanup()
