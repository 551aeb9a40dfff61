"""Drift over 1,000,000 served rows x 30 features against the training profile, beside
Evidently's DataDriftPreset on the same data (issue 12's target: under 2 s here).

    python benchmarks/drift.py [--rows 1000000] [--features 30] [--reference-rows 100000]
        [--repeats 3] [--peer-python /tmp/evidently-venv/bin/python] [--quick]

The data: 30 features, a fifth of them categorical (whole numbers, 3 to 8 values), the
rest normal, lognormal (skewed) or uniform; the served rows drift in 4 features
(two numeric shifted by 0.2 standard deviations, one widened, one categorical
re-weighted). mlopslab's path is the lab service's (service/drift_ops.py): the rows
are logged into the store as the service stores collected samples, then timed: the
bin counts of every window in one DuckDB query (store/drift_queries.py) and the
tests of every feature of every window (core/drift.py), both for the service's
1,000-row windows (1,000 windows) and for the whole 1M rows as one window (what
Evidently compares). The reference is profiled once per model version (timed apart).
Evidently runs in its own venv (`pip install evidently` there) on the same rows read
from Parquet; only its `Report.run` is timed. Repeats are interleaved. Prints
Markdown rows for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402

from mlopslab.core.drift import DriftPolicy, FeatureReference, check_windows, profile  # noqa: E402
from mlopslab.core.monitor_events import DriftSampled  # noqa: E402
from mlopslab.store import drift_queries as q  # noqa: E402
from mlopslab.store.db import Store  # noqa: E402

PEER = Path(__file__).with_name("drift_evidently_peer.py")
CHUNK = 10_000  # rows per stored batch, as the service reads them from a server


def columns(rows: int, features: int, seed: int, drift: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for i in range(features):
        kind = i % 5
        if kind == 4:
            values = 3 + i % 6
            p = np.linspace(1, 2, values)
            if drift and i == 4:
                p = p[::-1] ** 1.3
            out[f"c{i}"] = rng.choice(values, size=rows, p=p / p.sum()).astype(np.float64)
        elif kind == 1:
            out[f"x{i}"] = rng.lognormal(0.0, 0.7, rows) * (1.3 if drift and i == 1 else 1.0)
        elif kind == 2:
            out[f"x{i}"] = rng.uniform(0, 10, rows)
        else:
            out[f"x{i}"] = rng.normal(0.2 if drift and i in (0, 3) else 0.0, 1.0, rows)
    return out


def log_rows(store: Store, current: np.ndarray) -> float:
    started = time.perf_counter()
    for first in range(0, len(current), CHUNK):
        part = current[first:first + CHUNK]
        store.write([(None, [DriftSampled(ts=time.time(), deployment="bench", version="1",
                                          instance="i", seq=first + len(part), first_row=first,
                                          rows=part)])])  # type: ignore[arg-type]
    return time.perf_counter() - started


def check(store: Store, refs: list[FeatureReference], rows: int, window: int,
          policy: DriftPolicy) -> tuple[float, int, dict[str, int]]:
    """Seconds to bin and test every window; windows drifted; per feature, the windows
    it drifted in."""
    started = time.perf_counter()
    counts = q.window_counts(store, "bench", "1", 0, rows // window, window, refs)
    scores = check_windows(refs, counts, policy)
    seconds = time.perf_counter() - started
    drifted: dict[str, int] = {}
    for w in scores:
        for s in w:
            if s.drifted:
                drifted[s.feature] = drifted.get(s.feature, 0) + 1
    return seconds, sum(any(s.drifted for s in w) for w in scores), drifted


def peer(python: str, folder: Path, categorical: list[str]) -> dict[str, Any] | None:
    done = subprocess.run([python, str(PEER), str(folder / "reference.parquet"),
                           str(folder / "current.parquet"), ",".join(categorical)],
                          capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        print(f"evidently failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-python", default="/tmp/evidently-venv/bin/python")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    add_results_arg(parser)
    a = parser.parse_args()
    if a.quick:
        a.rows, a.reference_rows, a.repeats = 20_000, 5_000, 1
    policy = DriftPolicy(window_rows=a.window)
    reference = columns(a.reference_rows, a.features, 1, drift=False)
    current = columns(a.rows, a.features, 2, drift=True)
    names = list(reference)
    categorical = [n for n in names if n.startswith("c")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        use_peer = os.path.exists(a.peer_python)
        if use_peer:
            pq.write_table(pa.table(reference), folder / "reference.parquet")
            pq.write_table(pa.table(current), folder / "current.parquet")
        started = time.perf_counter()
        refs = profile(reference, policy)
        profiled = time.perf_counter() - started
        assert [r.kind == "categorical" for r in refs] == [n in categorical for n in names]
        store = Store(folder / "lab.duckdb")
        logged = log_rows(store, np.column_stack([current[n] for n in names]))
        windows: list[float] = []
        whole: list[float] = []
        theirs: list[float] = []
        for _ in range(a.repeats):
            seconds, drifted_windows, drifted = check(store, refs, a.rows, a.window, policy)
            windows.append(seconds)
            seconds, _, drifted_whole = check(store, refs, a.rows, a.rows, policy)
            whole.append(seconds)
            found = peer(a.peer_python, folder, categorical) if use_peer else None
            if found is not None:
                theirs.append(float(found["seconds"]))
        store.close()
    report(a, profiled, logged, windows, whole, theirs, drifted_windows, drifted, drifted_whole, found)


def report(a: argparse.Namespace, profiled: float, logged: float, windows: list[float],
           whole: list[float], theirs: list[float], drifted_windows: int, drifted: dict[str, int],
           drifted_whole: dict[str, int], found: dict[str, Any] | None) -> None:
    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; {a.rows:,} rows x {a.features} features against "
          f"{a.reference_rows:,} reference rows; {a.repeats} interleaved repeats")
    print(f"profile of the reference (once per model version): {profiled:.2f} s; "
          f"logging the rows into the store: {logged:.2f} s")
    per_feature = ", ".join(f"{f} {n}" for f, n in sorted(drifted.items(), key=lambda kv: -kv[1]))
    print(f"drifted: {drifted_windows} of {a.rows // a.window} windows of {a.window} rows "
          f"(windows per feature: {per_feature}); the whole as one window: {', '.join(drifted_whole)}")
    if found is not None:
        print(f"evidently {found['version']} called drifted: {', '.join(map(str, found['drifted']))}")
    print("\n| what | mlopslab | Evidently DataDriftPreset | Evidently / mlopslab |\n|---|---:|---:|---:|")
    peer_cell = cell(theirs) if theirs else "did not run"
    for label, values in ((f"{a.rows // a.window:,} windows of {a.window:,} rows", windows),
                          (f"one window of {a.rows:,} rows", whole)):
        ratio = f"{statistics.median(theirs) / statistics.median(values):.1f}x" if theirs else "-"
        print(f"| {label} | {cell(values)} | {peer_cell} | {ratio} |")
        record(a.results, benchmark="drift", figure=f"{a.rows:,} rows x {a.features} features: {label}",
               unit="s", ours=statistics.median(values), lower_is_better=True,
               peer="Evidently DataDriftPreset" if theirs else "",
               peer_value=statistics.median(theirs) if theirs else None,
               target="under 2 s (issue 12)", met=statistics.median(values) < 2)


if __name__ == "__main__":
    main()
