"""Searching runs, beside MLflow: a filter on a param and a metric, sorted by a metric,
top 100; and how many runs each project has.

    python benchmarks/search.py [--sizes 10000,100000] [--repeats 30] [--results FILE]
    python benchmarks/search.py --quick      # tiny sizes, a few seconds: the harness works

For each size: a fresh lab whose store holds that many runs over 100 projects, each
with 50 params and 100 metrics of 3 steps (300 points a run), seeded straight into
the store (benchmarks/tracking_data.py), and its real lab service. mlopslab is timed
as a client sees it, over one connection: the `list_runs` operation that
`mlopslab runs ls --filter ... --sort ... --limit 100` sends, and `list_projects`
(each project with its run count). The peer holds the same runs in an MLflow sqlite
store (made by MLflow, its tables filled with executemany): `MlflowClient().search_runs`
over every experiment with the same filter_string, order_by and max_results=100;
counts per project the way MLflow users get them, since MLflow has no count call:
search_runs over each experiment, a page of 1,000 at a time, counting what comes back.
Repeats alternate (mlopslab, MLflow, mlopslab, ...) after one warm-up each.

MLflow's counting loads every run (about two minutes at 10,000 runs here), so it gets
no warm-up and its repeats stop after `--peer-seconds` of it (at least one). MLflow is
run only at sizes up to `--peer-max-runs` (10,000 by default: filling its sqlite store
with 100,000 runs' 45M rows takes long); the 50x target is judged where it ran.
Each query's answer is checked against MLflow's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402
from tracking_data import Shape, make_lab, make_mlflow, summary  # noqa: E402

from mlopslab.client import LabClient, daemon  # noqa: E402

FILTER = "params.optimizer = 'adam' and metrics.acc > 0.5"
SORT = "metrics.loss"
MLFLOW_ORDER = ["metrics.loss ASC"]
TOP = 100
RATIO = 50.0


def targets(runs: int) -> float:
    """The p95 a search must stay under, in ms."""
    return 20.0 if runs <= 10_000 else 100.0


class Peer:
    """The same runs in MLflow's sqlite store, searched through MlflowClient."""

    def __init__(self, root: Path, shape: Shape) -> None:
        from mlflow.tracking import MlflowClient

        uri, self.experiments = make_mlflow(root / "mlflow.db", shape)
        self.client = MlflowClient(tracking_uri=uri)

    def search(self) -> list[Any]:
        return list(self.client.search_runs(list(self.experiments.values()), FILTER, order_by=MLFLOW_ORDER,
                                            max_results=TOP))

    def counts(self) -> dict[str, int]:
        counts = {}
        for name, experiment in self.experiments.items():
            n, token = 0, None
            while True:
                page = self.client.search_runs([experiment], max_results=1000, page_token=token)
                n += len(page)
                token = page.token
                if not token:
                    break
            counts[name] = n
        return counts


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    answer = call()
    return time.perf_counter() - t, answer


def measure(ours: Callable[[], Any], peer: Callable[[], Any] | None, repeats: int,
            peer_seconds: float | None = None) -> tuple[list[float], list[float], Any, Any]:
    """Interleaved repeats after one warm-up each. With `peer_seconds` the peer has no
    warm-up and stops once its repeats took that long (at least one)."""
    mine: list[float] = []
    theirs: list[float] = []
    _, our_answer = timed(ours)
    peer_answer = timed(peer)[1] if peer and peer_seconds is None else None
    for _ in range(repeats):
        mine.append(timed(ours)[0])
        if peer and (peer_seconds is None or not theirs or sum(theirs) < peer_seconds):
            took, answer = timed(peer)
            theirs.append(took)
            peer_answer = answer if peer_answer is None else peer_answer
    return mine, theirs, our_answer, peer_answer


def check_search(ours: list[Any], peer: list[Any]) -> None:
    mine = [(r.id, r.metrics["loss"]) for r in ours]
    theirs = [(r.info.run_id, r.data.metrics["loss"]) for r in peer]
    if [v for _, v in mine] != [v for _, v in theirs] or {i for i, _ in mine} != {i for i, _ in theirs}:
        raise AssertionError(f"mlopslab and MLflow found different runs: {mine[:3]} vs {theirs[:3]}")


def report(args: argparse.Namespace, runs: int, figure: str, mine: list[float], theirs: list[float],
           target_ms: float | None, note: str) -> None:
    ours, peer = summary(mine), summary(theirs) if theirs else None
    for q in ("p50", "p95"):
        ratio = peer[q] / ours[q] if peer else None
        met = None
        target = ""
        if q == "p95":
            under = target_ms is None or ours[q] < target_ms
            met = under and (ratio is None or ratio >= RATIO)
            target = (f"under {target_ms:g} ms and " if target_ms else "") + f"{RATIO:g}x MLflow"
        record(args.results, benchmark="search", figure=f"{figure}, {q}, {runs:,} runs", unit="ms",
               ours=ours[q], lower_is_better=True, target=target, met=met,
               peer="MLflow search_runs (sqlite)" if peer else "", peer_value=peer[q] if peer else None,
               note=note)
    peer_text = f"{peer['p50']:.1f} / {peer['p95']:.1f} ms (n={peer['n']})" if peer else "not run"
    ratio_text = f"{peer['p95'] / ours['p95']:,.0f}x" if peer else "—"
    print(f"| {runs:,} | {figure} | {ours['p50']:.2f} / {ours['p95']:.2f} ms (n={ours['n']}) | {peer_text} "
          f"| {ratio_text} | {note} |", flush=True)


def bench_size(args: argparse.Namespace, shape: Shape) -> None:
    root = Path(tempfile.mkdtemp(prefix="mlopslab-bench-search-"))
    try:
        t = time.perf_counter()
        lab = make_lab(root / "lab", shape)
        seeded = time.perf_counter() - t
        peer = Peer(root, shape) if shape.runs <= args.peer_max_runs else None
        print(f"<!-- {shape.runs:,} runs: lab seeded in {seeded:.0f} s; MLflow "
              f"{'seeded in %.0f s' % (time.perf_counter() - t - seeded) if peer else 'not run'} -->",
              file=sys.stderr, flush=True)
        try:
            with LabClient(lab) as client:
                client.service.ping()
                search = lambda: client.runs.list(filter=FILTER, sort=SORT, limit=TOP)  # noqa: E731
                counts = lambda: {p.name: p.runs for p in client.runs.projects()}  # noqa: E731
                mine, theirs, a, b = measure(search, peer.search if peer else None, args.repeats)
                if peer:
                    check_search(a, b)
                report(args, shape.runs, f"filter+sort, top {TOP}", mine, theirs, targets(shape.runs),
                       "" if peer else f"MLflow not run above {args.peer_max_runs:,} runs")
                mine, theirs, a, b = measure(counts, peer.counts if peer else None, args.repeats,
                                             args.peer_seconds)
                if peer and a != b:
                    raise AssertionError("mlopslab and MLflow counted different runs per project")
                report(args, shape.runs, "runs per project", mine, theirs, targets(shape.runs),
                       "MLflow: search_runs paged over each experiment" if peer
                       else f"MLflow not run above {args.peer_max_runs:,} runs")
        finally:
            daemon.stop(lab, stop_ray=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="runs in the lab, comma-separated")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--steps", type=int, default=3, help="points per metric")
    parser.add_argument("--peer-max-runs", type=int, default=10_000, help="run MLflow up to this size")
    parser.add_argument("--peer-seconds", type=float, default=60.0,
                        help="stop MLflow's count repeats after this long (at least 3 repeats)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness, not speed")
    add_results_arg(parser)
    args = parser.parse_args()
    shapes = [Shape(int(n), steps=args.steps) for n in args.sizes.split(",")]
    if args.quick:
        shapes, args.repeats = [Shape(300, projects=10, params=10, metrics=10, steps=2)], 3
    print(f"| runs | query | mlopslab p50 / p95 | MLflow p50 / p95 | MLflow p95 / ours | note |\n"
          f"|---:|---|---:|---:|---:|---|\n<!-- filter: {FILTER}; sort: {SORT} -->")
    for shape in shapes:
        bench_size(args, shape)


if __name__ == "__main__":
    main()
