"""One model on one holdout table: scores, group metrics, finiteness, latency."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mlopslab.core.errors import ModelError
from mlopslab.core.fairness import group_metrics
from mlopslab.core.gates import LatencyStats
from mlopslab.core.scoring import Predictions, classification_scores, regression_scores
from mlopslab.evaluation.onnx_model import OnnxModel, feature_feed, nonfinite, predictions, rows


@dataclass(frozen=True)
class Holdout:
    """Holdout rows and what their columns mean."""

    table: pa.Table
    target: str
    exclude: tuple[str, ...] = ()
    sensitive: str | None = None

    def skip(self) -> set[str]:
        return {self.target, *self.exclude, *([self.sensitive] if self.sensitive else [])}

    def labels(self) -> np.ndarray:
        if self.target not in self.table.column_names:
            raise ModelError(f"the holdout data has no target column '{self.target}'",
                             f"its columns: {', '.join(self.table.column_names[:12])}")
        return np.asarray(self.table[self.target].to_numpy(zero_copy_only=False))


@dataclass(frozen=True)
class Evaluation:
    task: str
    scores: dict[str, float]
    groups: dict[str, float] | None
    nonfinite: int
    rows: int


def evaluate(model: OnnxModel, holdout: Holdout) -> Evaluation:
    """Run the model over every holdout row and score it against the target."""
    y = holdout.labels()
    feed = feature_feed(model.schema, holdout.table, holdout.skip())
    try:
        outputs = model.run(feed)
    except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors have no common base
        raise ModelError(f"inference on the holdout failed: {str(e).splitlines()[0][:300]}") from e
    predicted = predictions(model.schema, outputs, y)
    groups = None
    if isinstance(predicted, Predictions):
        task, scores = "classification", classification_scores(y, predicted)
        if holdout.sensitive and holdout.sensitive in holdout.table.column_names:
            attribute = np.asarray(holdout.table[holdout.sensitive].to_numpy(zero_copy_only=False))
            groups = group_metrics(y, predicted.labels, attribute)
    else:
        task, scores = "regression", regression_scores(y, predicted)
    return Evaluation(task, scores, groups, nonfinite(outputs), len(y))


def latency(model: OnnxModel, holdout: Holdout, batch_size: int, warmup: int,
            iterations: int) -> dict[str, LatencyStats]:
    """p50/p95/p99 (ms) of one `session.run` at batch 1 and at `batch_size`."""
    feed = feature_feed(model.schema, holdout.table, holdout.skip())
    stats = {}
    for size in sorted({1, batch_size}):
        batch = rows(feed, size)
        for _ in range(warmup):
            model.run(batch)
        times = np.empty(iterations)
        for i in range(iterations):
            start = time.perf_counter_ns()
            model.run(batch)
            times[i] = (time.perf_counter_ns() - start) / 1e6
        stats[str(size)] = _percentiles(times)
    return stats


def _percentiles(times: np.ndarray) -> LatencyStats:
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return LatencyStats(p50_ms=round(float(p50), 4), p95_ms=round(float(p95), 4),
                        p99_ms=round(float(p99), 4), mean_ms=round(float(times.mean()), 4),
                        max_ms=round(float(times.max()), 4), iterations=len(times))
