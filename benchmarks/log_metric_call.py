"""What one `log_metric` call costs the training loop: mlopslab's tracking API beside
MLflow's `mlflow.log_metric` on a sqlite store, same machine, same run of this script.

    python benchmarks/log_metric_call.py [--calls 100000] [--repeats 3] [--quick]

Each side logs `--calls` points of one metric in a tight loop, timing every call with
perf_counter_ns; the table has the median (p50) and p99 of a call, and the points per
second from the first call until everything is committed (mlopslab: until the run
has ended, which waits for the last batch; MLflow: its calls are synchronous); the
run is made before the clock starts. MLflow is given the same
number of calls only in --quick mode; otherwise it logs 2,000 points per repeat (each
of its calls is a sqlite transaction) and its rate is computed from those. Repeats
are interleaved. Prints Markdown rows for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402

MLFLOW_CALLS = 2_000

OURS = """
import sys, time
import mlopslab
calls = int(sys.argv[1])
costs = []
run = mlopslab.start_run(name="bench")  # the service is up and the run made before the clock starts
started = time.perf_counter()
log = run.log_metric
clock = time.perf_counter_ns
for i in range(calls):
    t0 = clock()
    log("loss", 1.0 / (i + 1), step=i)
    costs.append(clock() - t0)
run.end()  # every point committed
elapsed = time.perf_counter() - started
costs.sort()
print(costs[len(costs) // 2], costs[int(len(costs) * 0.99)], calls / elapsed)
"""

THEIRS = """
import sys, time
import mlflow
calls = int(sys.argv[1])
mlflow.set_tracking_uri(sys.argv[2])
costs = []
mlflow.start_run()
started = time.perf_counter()
clock = time.perf_counter_ns
for i in range(calls):
    t0 = clock()
    mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    costs.append(clock() - t0)
mlflow.end_run()
elapsed = time.perf_counter() - started
costs.sort()
print(costs[len(costs) // 2], costs[int(len(costs) * 0.99)], calls / elapsed)
"""


def measure(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          check=True, timeout=1800)
    p50, p99, rate = (float(x) for x in done.stdout.split()[-3:])
    return p50 / 1000, p99 / 1000, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    add_results_arg(parser)
    a = parser.parse_args()
    if a.quick:
        a.calls, a.repeats = 2_000, 1
    from mlopslab.client import daemon
    from mlopslab.lab import init_lab

    with tempfile.TemporaryDirectory() as tmp:
        lab = init_lab(Path(tmp) / "lab", "bench")
        env = {**os.environ, "MLOPSLAB_LAB": str(lab.root), "GIT_PYTHON_REFRESH": "quiet"}
        ours, theirs = [], []
        try:
            for r in range(a.repeats):
                ours.append(measure(OURS, [str(a.calls)], env))
                uri = f"sqlite:///{Path(tmp) / f'mlflow-{r}.db'}"
                theirs.append(measure(THEIRS, [str(min(a.calls, MLFLOW_CALLS)), uri], env))
        finally:
            daemon.stop(lab, stop_ray=False)
    rows = [("p50 of one call (us)", 0, "{:.2f}"), ("p99 of one call (us)", 1, "{:.2f}"),
            ("points/s until committed", 2, "{:,.0f}")]
    print(f"{a.calls:,} calls per repeat (MLflow: {min(a.calls, MLFLOW_CALLS):,}), {a.repeats} repeats, medians")
    print("\n| figure | mlopslab | MLflow (sqlite) | ratio |\n|---|---:|---:|---:|")
    for label, i, fmt in rows:
        mine, peer = statistics.median(x[i] for x in ours), statistics.median(x[i] for x in theirs)
        ratio = mine / peer if i == 2 else peer / mine
        print(f"| {label} | {fmt.format(mine)} | {fmt.format(peer)} | {ratio:,.0f}x |")
        record(a.results, benchmark="log_metric", figure=f"one process: {label}",
               unit="points/s" if i == 2 else "us", ours=mine, lower_is_better=i != 2,
               peer="MLflow log_metric (sqlite)", peer_value=peer,
               target="under 20 us" if i == 1 else "", met=mine < 20 if i == 1 else None)


if __name__ == "__main__":
    main()
