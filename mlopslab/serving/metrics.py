"""Prometheus metrics of one server, and per-feature input statistics for drift checks."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class FeatureStats:
    """Count, mean, std, min and max of each column of each 2-D numeric input."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, list[Any]] = {}  # name -> [count, sum, sumsq, min, max]

    def observe(self, feeds: dict[str, np.ndarray]) -> None:
        for name, array in feeds.items():
            if array.ndim != 2 or array.dtype.kind not in "fiu" or not array.shape[0]:
                continue
            a = array.astype(np.float64, copy=False)
            with self._lock:
                s = self._stats.get(name)
                if s is None or len(s[1]) != a.shape[1]:
                    s = self._stats[name] = [0, np.zeros(a.shape[1]), np.zeros(a.shape[1]),
                                             np.full(a.shape[1], np.inf), np.full(a.shape[1], -np.inf)]
                s[0] += a.shape[0]
                s[1] += a.sum(axis=0)
                s[2] += (a * a).sum(axis=0)
                s[3] = np.minimum(s[3], a.min(axis=0))
                s[4] = np.maximum(s[4], a.max(axis=0))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        out = {}
        with self._lock:
            for name, (count, total, sumsq, low, high) in self._stats.items():
                mean = total / count
                std = np.sqrt(np.maximum(sumsq / count - mean * mean, 0.0))
                out[name] = {"count": int(count), "mean": mean.tolist(), "std": std.tolist(),
                             "min": low.tolist(), "max": high.tolist()}
        return out

    def collect(self) -> list[GaugeMetricFamily]:
        families = {k: GaugeMetricFamily(f"mlopslab_feature_{k}", f"Per-feature input {k}",
                                         labels=["input", "feature"]) for k in ("mean", "std")}
        for name, stats in self.snapshot().items():
            for k, family in families.items():
                for i, value in enumerate(stats[k]):
                    family.add_metric([name, str(i)], value)
        return list(families.values())


class Metrics:
    def __init__(self, model: str, version: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"model": model, "version": version}
        r = self.registry
        self.requests = Counter("mlopslab_requests", "Inference requests by HTTP status",
                                ["model", "version", "code"], registry=r)
        self.latency = Histogram("mlopslab_request_seconds", "Inference request latency",
                                 ["model", "version"], buckets=LATENCY_BUCKETS,
                                 registry=r).labels(**labels)
        self.batch_rows = Histogram("mlopslab_batch_rows", "Rows per ONNX Runtime call",
                                    ["model", "version"], buckets=BATCH_BUCKETS,
                                    registry=r).labels(**labels)
        self.run_seconds = Histogram("mlopslab_batch_seconds", "ONNX Runtime time per batch",
                                     ["model", "version"], buckets=LATENCY_BUCKETS,
                                     registry=r).labels(**labels)
        self.queue_depth = Gauge("mlopslab_queue_depth", "Requests waiting or running",
                                 ["model", "version"], registry=r).labels(**labels)
        self.rejected = Counter("mlopslab_rejected", "Requests shed with 503 (queue full)",
                                ["model", "version"], registry=r).labels(**labels)
        self.features = FeatureStats()
        self.registry.register(self.features)  # type: ignore[arg-type]
        self._labels = labels
        self._codes: dict[int, Any] = {}

    def answered(self, code: int, seconds: float) -> None:
        counter = self._codes.get(code)
        if counter is None:
            counter = self._codes[code] = self.requests.labels(code=str(code), **self._labels)
        counter.inc()
        self.latency.observe(seconds)

    def batch(self, rows: int, seconds: float) -> None:
        self.batch_rows.observe(rows)
        self.run_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
