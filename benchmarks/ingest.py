"""Metric ingest, side by side: W writer processes x R runs x M metrics x S steps through
mlopslab's tracking API, beside MLflow's `log_batch` on a sqlite store, MLflow's
tracking server, and the same MLflow client script pointed at `mlopslab mlflow-server`.

    python benchmarks/ingest.py [--writers 4 --runs 25 --metrics 100 --steps 1000]
        [--peer-runs 1] [--peer-steps STEPS] [--repeats 2] [--mlflow-server-python PY] [--quick] [--results FILE]

Every writer starts at one instant (a shared start time); points/s counts from then
until the last writer's last point is committed (mlopslab: `run.end()` returns after
the service acknowledged the last batch, which it does once it is committed; MLflow:
its calls are synchronous). The training loop is `for step: for metric:
run.log_metric(key, value, step)`; one call in 16 steps is timed with perf_counter_ns
for the p50/p99 of one call. MLflow's client logs each step's metrics together with
`MlflowClient.log_batch` (up to 1,000 per call, its limit), its best case; its
per-call figures are of one `log_batch` call. The peers log `--peer-runs` runs of
`--peer-steps` steps per writer (their rate is from those; logging 10M points
through them would take hours). The
lab service's peak RSS is sampled every 0.2 s. Repeats are interleaved.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402

SAMPLE_EVERY = 16  # steps: one in SAMPLE_EVERY has every call timed

OURS = """
import array, json, sys, time
import mlopslab, mlopslab.exec.tracking
w, runs, metrics, steps, t0, every = sys.argv[1:7]
runs, metrics, steps, t0, every = int(runs), int(metrics), int(steps), float(t0), int(every)
keys = [f"m{i:03d}" for i in range(metrics)]
costs = array.array("q")
clock = time.perf_counter_ns
while time.time() < t0:
    time.sleep(0.001)
for r in range(runs):
    with mlopslab.start_run(project=f"ingest-{w}", name=f"w{w}-r{r}") as run:
        log = run.log_metric
        for s in range(steps):
            if s % every:
                for k in keys:
                    log(k, 0.5, s)
            else:
                for k in keys:
                    a = clock()
                    log(k, 0.5, s)
                    costs.append(clock() - a)
print(json.dumps({"end": time.time(), "costs": sorted(costs)[::max(1, len(costs) // 20000)]}))
"""

THEIRS = """
import array, json, sys, time
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
w, runs, metrics, steps, t0, uri = sys.argv[1:7]
runs, metrics, steps, t0 = int(runs), int(metrics), int(steps), float(t0)
client = MlflowClient(uri)
experiment = client.get_experiment_by_name(f"ingest-{w}")
experiment = experiment.experiment_id if experiment else client.create_experiment(f"ingest-{w}")
keys = [f"m{i:03d}" for i in range(metrics)]
per_call = max(1, 1000 // metrics)  # steps per log_batch call: up to 1,000 metrics, MLflow's limit
costs = array.array("q")
clock = time.perf_counter_ns
while time.time() < t0:
    time.sleep(0.001)
for r in range(runs):
    run = client.create_run(experiment, run_name=f"w{w}-r{r}").info.run_id
    for first in range(0, steps, per_call):
        now = int(time.time() * 1000)
        batch = [Metric(k, 0.5, now, s) for s in range(first, min(steps, first + per_call)) for k in keys]
        a = clock()
        client.log_batch(run, metrics=batch)
        costs.append(clock() - a)
    client.set_terminated(run)
print(json.dumps({"end": time.time(), "costs": sorted(costs)}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline_s: float = 60) -> None:
    import urllib.error
    import urllib.request

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - a local URL we made
            return
        except urllib.error.HTTPError:
            return  # it answers (the lab's endpoint wants its token)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {deadline_s:.0f} s")


class PeakRss:
    """Samples a process's resident memory until stopped."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PeakRss:
        if self.pid:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))


def writers(code: str, count: int, runs: int, shape: tuple[int, int], extra: str,
            env: dict[str, str]) -> dict[str, Any]:
    """Start `count` writer processes at one instant; points/s until the last one is done."""
    metrics, steps = shape
    t0 = time.time() + 3.0  # time for every process to import and connect
    procs = [subprocess.Popen([sys.executable, "-c", code, str(w), str(runs), str(metrics), str(steps),
                               f"{t0:.6f}", extra], stdout=subprocess.PIPE, text=True, env=env)
             for w in range(count)]
    outs = [p.communicate(timeout=7200)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a writer failed (exit codes {[p.returncode for p in procs]})")
    found = [json.loads(out.strip().splitlines()[-1]) for out in outs]
    costs = sorted(c for f in found for c in f["costs"])
    elapsed = max(f["end"] for f in found) - t0
    return {"points_s": count * runs * metrics * steps / elapsed, "elapsed_s": elapsed,
            "p50_us": costs[len(costs) // 2] / 1000, "p99_us": costs[int(len(costs) * 0.99)] / 1000}


@contextlib.contextmanager
def mlflow_server(python: str, folder: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    db = folder / "mlflow-server.db"
    proc = subprocess.Popen([python, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port",
                             str(port), "--backend-store-uri", f"sqlite:///{db}", "--workers", "1",
                             "--default-artifact-root", str(folder / "mlflow-server-artifacts")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@contextlib.contextmanager
def lab_mlflow_endpoint(lab_root: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    from mlopslab.lab import Lab

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlopslab", "--lab", str(lab_root), "mlflow-server",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        token = Lab(lab_root).token("mlflow")
        wait_http(f"http://127.0.0.1:{port}/health", 60)
        yield f"http://127.0.0.1:{port}", token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def make_mlflow_store(uri: str, env: dict[str, str]) -> None:
    """Create the sqlite store before the writers start (MLflow's migrations race otherwise)."""
    subprocess.run([sys.executable, "-c", "import sys; from mlflow.tracking import MlflowClient; "
                    "MlflowClient(sys.argv[1]).search_experiments()", uri], env=env, check=True,
                   capture_output=True, timeout=300)


def service_pid(lab_root: Path) -> int | None:
    from mlopslab.client import LabClient
    from mlopslab.lab import Lab

    with LabClient(Lab(lab_root)) as client:
        return int(client.service.ping().pid)


def main() -> None:  # noqa: PLR0915 - one run, step by step
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--metrics", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--peer-runs", type=int, default=1, help="runs per writer for the MLflow peers")
    parser.add_argument("--peer-steps", type=int, default=None,
                        help="steps per run for the MLflow peers (default: --steps, the same runs)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--mlflow-server-python", default=None, metavar="PY",
                        help="a Python with full `mlflow` (its server needs Flask, which mlflow-skinny "
                             "lacks); without it MLflow's tracking server is left out")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (CI: the harness works)")
    add_results_arg(parser)
    a = parser.parse_args()
    if a.quick:
        a.writers, a.runs, a.metrics, a.steps, a.peer_runs, a.peer_steps, a.repeats = 2, 2, 5, 40, 1, 40, 1
    from mlopslab.client import daemon
    from mlopslab.lab import init_lab

    a.peer_steps = a.peer_steps or a.steps
    shape, peer_shape = (a.metrics, a.steps), (a.metrics, a.peer_steps)
    figures: dict[str, list[dict[str, Any]]] = {}
    peaks: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lab = init_lab(folder / "lab", "bench")
        env = {**os.environ, "MLOPSLAB_LAB": str(lab.root), "GIT_PYTHON_REFRESH": "quiet",
               "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
        pid = service_pid(lab.root)
        try:
            with contextlib.ExitStack() as stack:
                server = (stack.enter_context(mlflow_server(a.mlflow_server_python, folder, env))
                          if a.mlflow_server_python else None)
                ours_uri, token = stack.enter_context(lab_mlflow_endpoint(lab.root, env))
                for r in range(a.repeats):
                    with PeakRss(pid) as rss:
                        figures.setdefault("ours", []).append(
                            writers(OURS, a.writers, a.runs, shape, str(SAMPLE_EVERY), env))
                    peaks.append(rss.peak_kib)
                    sqlite = f"sqlite:///{folder / f'mlflow-{r}.db'}"
                    make_mlflow_store(sqlite, env)
                    figures.setdefault("sqlite", []).append(
                        writers(THEIRS, a.writers, a.peer_runs, peer_shape, sqlite, env))
                    if server:
                        figures.setdefault("server", []).append(
                            writers(THEIRS, a.writers, a.peer_runs, peer_shape, server, env))
                    compat_env = {**env, "MLFLOW_TRACKING_TOKEN": token}
                    figures.setdefault("compat", []).append(
                        writers(THEIRS, a.writers, a.peer_runs, peer_shape, ours_uri, compat_env))
        finally:
            daemon.stop(lab, stop_ray=False)
    report(a, figures, peaks)


def report(a: argparse.Namespace, figures: dict[str, list[dict[str, Any]]], peaks: list[int]) -> None:
    names = {"ours": "mlopslab tracking API", "sqlite": "MLflow log_batch, sqlite store",
             "server": "MLflow log_batch, MLflow tracking server (sqlite)",
             "compat": "MLflow log_batch, mlopslab mlflow-server"}
    total = a.writers * a.runs * a.metrics * a.steps
    print(f"{a.writers} writers x {a.runs} runs x {a.metrics} metrics x {a.steps} steps = {total:,} points "
          f"(peers: {a.peer_runs} run(s) of {a.peer_steps} steps per writer), {a.repeats} repeats, medians (min-max)")
    print("\n| writer | points/s until committed | p50 / p99 of one call (us) | vs MLflow sqlite |")
    print("|---|---:|---:|---:|")
    sqlite = statistics.median(f["points_s"] for f in figures["sqlite"])
    for key, found in figures.items():
        rates = [f["points_s"] for f in found]
        p50 = statistics.median(f["p50_us"] for f in found)
        p99 = statistics.median(f["p99_us"] for f in found)
        rate = statistics.median(rates)
        print(f"| {names[key]} | {rate:,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) | {p50:,.2f} / {p99:,.2f} "
              f"| {rate / sqlite:,.1f}x |")
    print(f"\nlab service peak RSS: {max(peaks) / 1024:,.0f} MiB (per repeat: "
          f"{', '.join(f'{p / 1024:,.0f}' for p in peaks)} MiB)")
    ours = [f["points_s"] for f in figures["ours"]]
    record(a.results, benchmark="ingest", figure=f"points/s until committed, {a.writers} writers, "
           f"{total:,} points", unit="points/s", ours=statistics.median(ours), ours_range=(min(ours), max(ours)),
           lower_is_better=False, peer="MLflow log_batch (sqlite)", peer_value=sqlite,
           target="100x MLflow sqlite log_batch", met=statistics.median(ours) >= 100 * sqlite)
    p99 = statistics.median(f["p99_us"] for f in figures["ours"])
    record(a.results, benchmark="ingest", figure="p99 of one log_metric call", unit="us", ours=p99,
           lower_is_better=True, target="under 20 us", met=p99 < 20)
    for key in ("server", "compat"):
        if key in figures:
            rate = statistics.median(f["points_s"] for f in figures[key])
            record(a.results, benchmark="ingest", figure=f"points/s: {names[key]}", unit="points/s",
                   ours=statistics.median(ours), lower_is_better=False, peer=names[key], peer_value=rate)
    record(a.results, benchmark="ingest", figure="lab service peak RSS while ingesting", unit="MiB",
           ours=max(peaks) / 1024, lower_is_better=True, target="bounded")


if __name__ == "__main__":
    main()
