"""Made-up tracking data for the search and compare benchmarks, written twice: into a
fresh lab's DuckDB store and into an MLflow sqlite store, the same runs in both.

The lab: rows go in as Arrow tables straight into the store (before its service
starts); metric points go through the store's own `metric_batch` insert path
(store/writes.py), so the last values are kept as a logged batch keeps them.
MLflow: the store is made by MLflow (its schema and migrations, experiments through
`MlflowClient`), then its `runs`, `params`, `tags`, `metrics` and `latest_metrics`
tables are filled with sqlite `executemany` (one `log_batch` per run would take
hours at these sizes).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from mlopslab.lab import Lab, init_lab  # noqa: E402
from mlopslab.store.db import Store  # noqa: E402
from mlopslab.store.writes import update_metric_last  # noqa: E402

START = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
OPTIMIZERS = ("adam", "sgd", "adamw", "lion")
CHUNK = 2_000  # runs per Arrow batch


@dataclass(frozen=True)
class Shape:
    """How much to make: runs over projects, each with params, metrics and steps."""

    runs: int
    projects: int = 100
    params: int = 50
    metrics: int = 100
    steps: int = 3  # points per metric; the last one is the value searches see

    def metric_keys(self) -> list[str]:
        return ["acc", "loss", *(f"m{i:03d}" for i in range(2, self.metrics))][: self.metrics]

    def param_keys(self) -> list[str]:
        return ["optimizer", "lr", *(f"p{i:02d}" for i in range(2, self.params))][: self.params]


@dataclass(frozen=True)
class Chunk:
    """Runs `first`..`first+len(ids)` with their params and per-step metric values."""

    ids: list[str]
    projects: list[str]
    created: np.ndarray  # epoch seconds
    params: list[dict[str, Any]]
    values: np.ndarray  # runs x metrics x steps


def run_id(i: int) -> str:
    return f"{i:032x}"


def chunks(shape: Shape, seed: int = 7) -> Iterator[Chunk]:
    """The runs, `CHUNK` at a time; the same shape and seed give the same runs."""
    rng = np.random.default_rng(seed)
    keys = shape.param_keys()
    for first in range(0, shape.runs, CHUNK):
        n = min(CHUNK, shape.runs - first)
        idx = np.arange(first, first + n)
        opt = rng.integers(0, len(OPTIMIZERS), n)
        lr = rng.choice([0.1, 0.03, 0.01, 0.003, 0.001], n)
        ints = rng.integers(0, 1000, (n, max(0, shape.params - 2)))
        params = []
        for j in range(n):
            p: dict[str, Any] = {"optimizer": OPTIMIZERS[opt[j]], "lr": float(lr[j])}
            p.update(zip(keys[2:], ints[j].tolist(), strict=True))
            params.append({k: p[k] for k in keys})
        yield Chunk(ids=[run_id(i) for i in idx.tolist()],
                    projects=[f"proj-{i % shape.projects:03d}" for i in idx.tolist()],
                    created=START + idx * 30.0, params=params,
                    values=rng.random((n, shape.metrics, shape.steps)).round(6))


# the lab ----------------------------------------------------------------------


def make_lab(root: Path, shape: Shape) -> Lab:
    """A fresh lab (no Ray, no GPUs) whose store holds `shape`'s runs."""
    from tests.conftest import configure

    lab = configure(init_lab(root, "bench", ray_address=""), ray={"num_gpus": 0})
    store = Store(lab.db_path)
    try:
        cur = store.cursor()
        for chunk in chunks(shape):
            _lab_chunk(cur, shape, chunk)
        cur.execute("INSERT INTO projects SELECT project, min(created_at) FROM runs "
                    "WHERE project NOT IN (SELECT name FROM projects) GROUP BY project")
        cur.execute("CHECKPOINT")
    finally:
        store.close()
    return lab


def _lab_chunk(cur: Any, shape: Shape, chunk: Chunk) -> None:
    n, created = len(chunk.ids), [_naive(t) for t in chunk.created.tolist()]
    ended = [_naive(t + 600) for t in chunk.created.tolist()]
    runs = pa.table({
        "id": chunk.ids, "project": chunk.projects, "recipe": ["train"] * n,
        "recipe_path": ["/lab/recipes/train"] * n, "status": ["finished"] * n,
        "user_name": ["ana"] * n, "params": [json.dumps(p) for p in chunk.params],
        "resources": ['{"cpus": 1, "gpus": 0}'] * n, "created_at": created,
        "queued_at": created, "started_at": created, "ended_at": ended,
    })
    keys = shape.param_keys()
    params = pa.table({
        "run_id": np.repeat(chunk.ids, len(keys)),
        "key": keys * n,
        "value": [json.dumps(p[k]) for p in chunk.params for k in keys],
        "num": [None if isinstance(p[k], str) else float(p[k]) for p in chunk.params for k in keys],
    })
    for table, arrow in (("runs", runs), ("params", params)):
        cur.register("seed_batch", arrow)
        cur.execute(f"INSERT INTO {table} ({', '.join(arrow.column_names)}) "  # noqa: S608
                    f"SELECT * FROM seed_batch")
        cur.unregister("seed_batch")
    cur.register("metric_batch", metric_points(shape, chunk))
    cur.execute("INSERT INTO metrics SELECT * FROM metric_batch")
    update_metric_last(cur)
    cur.unregister("metric_batch")


def metric_points(shape: Shape, chunk: Chunk) -> pa.Table:
    """Every point of a chunk, in the store's `metrics` column order."""
    n, m, s = chunk.values.shape
    stamps = (chunk.created[:, None, None] + 10 + np.arange(s)[None, None, :]) * 1_000_000
    return pa.table({
        "run_id": pa.array(np.repeat(chunk.ids, m * s)),
        "key": pa.array(np.tile(np.repeat(shape.metric_keys(), s), n)),
        "step": pa.array(np.tile(np.arange(s), n * m), pa.int64()),
        "ts": pa.array(np.broadcast_to(stamps, (n, m, s)).ravel().astype("int64"), pa.timestamp("us")),
        "value": pa.array(chunk.values.ravel(), pa.float64()),
    })


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


# MLflow -----------------------------------------------------------------------


def make_mlflow(path: Path, shape: Shape) -> tuple[str, dict[str, str]]:
    """An MLflow sqlite store holding `shape`'s runs; its URI and project -> experiment id."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri)
    experiments = {f"proj-{i:03d}": client.create_experiment(f"proj-{i:03d}",
                                                             artifact_location=str(path.parent / "art"))
                   for i in range(shape.projects)}
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA synchronous = OFF")
        for chunk in chunks(shape):
            _mlflow_chunk(con, shape, chunk, experiments)
            con.commit()
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()
    return uri, experiments


def _mlflow_chunk(con: sqlite3.Connection, shape: Shape, chunk: Chunk, experiments: dict[str, str]) -> None:
    ms = (chunk.created * 1000).astype("int64").tolist()
    con.executemany(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
        "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
        "VALUES (?, ?, 'LOCAL', '', '', 'ana', 'FINISHED', ?, ?, '', 'active', ?, ?)",
        [(rid, f"run-{rid[-6:]}", t, t + 600_000, f"/art/{rid}", int(experiments[proj]))
         for rid, t, proj in zip(chunk.ids, ms, chunk.projects, strict=True)])
    con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)",
                    [(f"run-{rid[-6:]}", rid) for rid in chunk.ids])
    con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, str(v), rid) for rid, p in zip(chunk.ids, chunk.params, strict=True)
                     for k, v in p.items()])
    keys, steps = shape.metric_keys(), shape.steps
    con.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
        [(k, float(chunk.values[j, ki, s]), t + 10_000 + 1000 * s, rid, s)
         for j, (rid, t) in enumerate(zip(chunk.ids, ms, strict=True))
         for ki, k in enumerate(keys) for s in range(steps)])
    con.executemany(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
        [(k, float(chunk.values[j, ki, steps - 1]), t + 10_000 + 1000 * (steps - 1), steps - 1, rid)
         for j, (rid, t) in enumerate(zip(chunk.ids, ms, strict=True)) for ki, k in enumerate(keys)])


# figures ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the nearest ranks."""
    return float(np.percentile(np.asarray(values), q))


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50": statistics.median(ms), "p95": percentile(ms, 95), "n": len(ms)}
