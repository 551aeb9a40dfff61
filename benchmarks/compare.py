"""Comparing runs, beside MLflow: one metric's whole history for 100 runs of 1,000
steps each, downsampled for a chart.

    python benchmarks/compare.py [--runs 100] [--steps 1000] [--repeats 30] [--results FILE]
    python benchmarks/compare.py --quick     # tiny sizes, a few seconds: the harness works

A fresh lab holds the runs (2 metrics, `steps` points each, seeded straight into the
store by benchmarks/tracking_data.py) and its real lab service answers. mlopslab is
timed as the TUI's compare view (tui/screens/compare.py) gets its curves: one
`metric_curves` operation for all the runs and the one metric charted, downsampled
in DuckDB by the service (each of 200 buckets of steps keeps its lowest and highest
point, which keeps spikes). MLflow is a loop of `MlflowClient().get_metric_history`
over the same runs in an MLflow sqlite store holding the same points (made by MLflow,
filled with executemany), each history downsampled the same way in numpy; the two
answers are checked equal. Repeats alternate (mlopslab, MLflow, ...) after one
warm-up each; figures are the p50 and p95 of the whole 100-run fetch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402
from tracking_data import Shape, make_lab, make_mlflow, run_id, summary  # noqa: E402

from mlopslab.api.runs import CURVE_BUCKETS  # noqa: E402
from mlopslab.client import LabClient, daemon  # noqa: E402

KEY = "loss"
BUCKETS = CURVE_BUCKETS  # what the TUI asks for
RATIO = 50.0

Curve = tuple[np.ndarray, np.ndarray]  # steps, values


def downsample(steps: Sequence[float], values: Sequence[float], buckets: int = BUCKETS) -> Curve:
    """At most 2 x `buckets` points: the lowest and highest of each of `buckets` equal
    buckets of the step range, in step order, as the metric_curves operation keeps them
    in DuckDB (numpy throughout: little cost on MLflow's side)."""
    x, y = np.asarray(steps, np.int64), np.asarray(values, float)
    n = len(x)
    if n <= 2 * buckets:
        return x.astype(float), y
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    bucket = (x - x[0]) * buckets // (x[-1] - x[0] + 1)
    ranked = np.lexsort((y, bucket))  # by bucket, then value
    first = np.flatnonzero(np.r_[True, bucket[ranked][1:] != bucket[ranked][:-1]])
    last = np.r_[first[1:] - 1, n - 1]
    keep = np.unique(np.concatenate([ranked[first], ranked[last]]))
    return x[keep].astype(float), y[keep]


def ours(client: LabClient, ids: list[str]) -> list[Curve]:
    return [(np.asarray(c.x, float), np.asarray(c.y, float)) for c in client.runs.curves(ids, KEY, BUCKETS)]


def peer(mlflow: Any, ids: list[str]) -> list[Curve]:
    curves = []
    for i in ids:
        history = mlflow.get_metric_history(i, KEY)
        curves.append(downsample([m.step for m in history], [m.value for m in history]))
    return curves


def same(a: list[Curve], b: list[Curve]) -> bool:
    return all(np.array_equal(x1, x2) and np.allclose(y1, y2) for (x1, y1), (x2, y2) in zip(a, b, strict=True))


def interleaved(calls: tuple[Callable[[], Any], Callable[[], Any]], repeats: int) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for call in calls:
        call()
    for _ in range(repeats):
        for call, out in zip(calls, times, strict=True):
            t = time.perf_counter()
            call()
            out.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness, not speed")
    add_results_arg(parser)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.steps, args.repeats = 5, 500, 3
    shape = Shape(args.runs, projects=1, params=5, metrics=2, steps=args.steps)
    root = Path(tempfile.mkdtemp(prefix="mlopslab-bench-compare-"))
    try:
        from mlflow.tracking import MlflowClient

        lab = make_lab(root / "lab", shape)
        mlflow = MlflowClient(tracking_uri=make_mlflow(root / "mlflow.db", shape)[0])
        ids = [run_id(i) for i in range(args.runs)]
        try:
            with LabClient(lab) as client:
                client.service.ping()
                if not same(ours(client, ids), peer(mlflow, ids)):
                    raise AssertionError("mlopslab and MLflow gave different curves")
                mine, theirs = interleaved((lambda: ours(client, ids), lambda: peer(mlflow, ids)), args.repeats)
        finally:
            daemon.stop(lab, stop_ray=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(args, summary(mine), summary(theirs))


def report(args: argparse.Namespace, mine: dict[str, float], theirs: dict[str, float]) -> None:
    size = f"{args.runs} runs x {args.steps:,} steps"
    print("| history | mlopslab p50 / p95 | MLflow get_metric_history loop p50 / p95 | MLflow p50 / ours |\n"
          "|---|---:|---:|---:|")
    print(f"| {size}, downsampled to {BUCKETS} buckets | {mine['p50']:.1f} / {mine['p95']:.1f} ms "
          f"| {theirs['p50']:.1f} / {theirs['p95']:.1f} ms | {theirs['p50'] / mine['p50']:,.1f}x |")
    for q in ("p50", "p95"):
        ratio = theirs[q] / mine[q]
        record(args.results, benchmark="compare", figure=f"one metric, {size}, {q}", unit="ms",
               ours=mine[q], lower_is_better=True, target=f"{RATIO:g}x MLflow", met=ratio >= RATIO,
               peer="MLflow get_metric_history loop (sqlite)", peer_value=theirs[q],
               note="one metric_curves operation for all the runs, as the TUI's compare view")


if __name__ == "__main__":
    main()
