"""Wall time of everyday commands as a user runs them, beside MLflow's CLI.

    python benchmarks/commands.py [--runs 300] [--repeats 15] [--quick] [--results FILE]

A fresh lab with `--runs` seeded runs (tests/tui/seed.py) and its lab service
running; an MLflow sqlite store holding as many runs (the same params, five steps of
two metrics each). Each command is a new process, timed by the wall clock from
spawn to exit with its output into a pipe, through the installed `mlopslab` entry
point and through `python -m mlopslab`:

- `mlopslab runs ls [--json]` beside `mlflow runs list --experiment-id E`
- `mlopslab runs show ID [--json]` beside `mlflow runs describe --run-id ID`
- `mlopslab queue [--json]` (MLflow has no queue)
- `mlopslab --help` beside `mlflow --help`

The repeats are interleaved (one of every command, then the next round), after one
untimed round that leaves compiled bytecode behind as a user's first run does
(PYTHONDONTWRITEBYTECODE is dropped from the commands' environment). Target: under
150 ms for a command against a running service. `--quick` (20 runs, one round, no
untimed round, the entry point only) checks that the harness works. Prints a Markdown
table: median, then min-max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402

if TYPE_CHECKING:
    from mlopslab.lab import Lab

TARGET_MS = 150.0
TARGET = "under 150 ms against a running service"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Command:
    """One command line to time; `peer` names the MLflow command it is set beside."""

    label: str
    argv: list[str]
    peer: str | None = None


def seed_lab(root: Path, n: int) -> tuple[Lab, str]:
    """A lab with `n` seeded runs and its service started; (lab, a finished run's id)."""
    from mlopslab.client import daemon
    from mlopslab.lab import init_lab
    from tests.conftest import configure
    from tests.tui.seed import seed_runs

    lab = configure(init_lab(root, "bench", ray_address=""), ray={"num_gpus": 0})
    ids = seed_runs(lab.db_path, n)
    daemon.start(lab)
    return lab, ids[-1]


def seed_mlflow(uri: str, n: int) -> tuple[str, str]:
    """An MLflow store at `uri` with `n` runs like the lab's; (experiment id, a run id)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench")
    run_id = ""
    for i in range(n):
        run_id = client.create_run(experiment, run_name=f"run-{i}").info.run_id
        params = [Param("lr", str((0.1, 0.03, 0.01)[i % 3])), Param("width", str(32 << i % 4)),
                  Param("optimizer", ("adam", "sgd")[i % 2])]
        now = int(time.time() * 1000)
        metrics = [Metric(key, 0.5 + 0.1 * step, now + step, step)
                   for step in range(5) for key in ("accuracy", "loss")]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)
    return experiment, run_id


def commands(lab_root: Path, run_id: str, experiment: str, mlflow_run: str,
             module_too: bool = True) -> list[Command]:
    lab = ["--lab", str(lab_root)]
    ours: list[tuple[str, list[str], str | None]] = [
        ("runs ls", ["runs", "ls", *lab], "mlflow runs list"),
        ("runs ls --json", ["runs", "ls", "--json", *lab], "mlflow runs list"),
        ("runs show ID", ["runs", "show", run_id, *lab], "mlflow runs describe"),
        ("runs show ID --json", ["runs", "show", run_id, "--json", *lab], "mlflow runs describe"),
        ("queue", ["queue", *lab], None),
        ("queue --json", ["queue", "--json", *lab], None),
        ("--help", ["--help"], "mlflow --help"),
    ]
    found = [Command(f"mlopslab {label}", [str(BIN / "mlopslab"), *argv], peer)
             for label, argv, peer in ours]
    if module_too:
        found += [Command(f"python -m mlopslab {label}", [sys.executable, "-m", "mlopslab", *argv], peer)
                  for label, argv, peer in ours]
    mlflow = str(BIN / "mlflow")
    found += [Command("mlflow runs list", [mlflow, "runs", "list", "--experiment-id", experiment]),
              Command("mlflow runs describe", [mlflow, "runs", "describe", "--run-id", mlflow_run]),
              Command("mlflow --help", [mlflow, "--help"])]
    return found


def time_once(command: Command, env: dict[str, str]) -> float:
    """Seconds from spawn to exit; the command must succeed."""
    start = time.perf_counter()
    done = subprocess.run(command.argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command.label} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def measure(cmds: list[Command], repeats: int, env: dict[str, str],
            warm: bool = True) -> dict[str, list[float]]:
    """Milliseconds per command, rounds interleaved, after one untimed round if `warm`."""
    for command in cmds if warm else ():
        time_once(command, env)
    times: dict[str, list[float]] = {c.label: [] for c in cmds}
    for _ in range(repeats):
        for command in cmds:
            times[command.label].append(time_once(command, env) * 1000)
    return times


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ms ({min(values):,.0f}-{max(values):,.0f})"


def report(cmds: list[Command], times: dict[str, list[float]], n: int,
           results: Path | None) -> list[str]:
    lines = ["| command | median (min-max) | MLflow | median (min-max) | MLflow / ours | under 150 ms |",
             "|---|---:|---|---:|---:|---|"]
    for command in (c for c in cmds if c.label.startswith(("mlopslab", "python -m"))):
        ours = times[command.label]
        median = statistics.median(ours)
        peer = times.get(command.peer or "")
        peer_median = statistics.median(peer) if peer else None
        met = median < TARGET_MS
        record(results, benchmark="commands", figure=f"{command.label}, {n} runs, median wall time",
               unit="ms", ours=median, ours_range=[min(ours), max(ours)], lower_is_better=True,
               peer=f"MLflow {_mlflow_version()} `{command.peer}` (sqlite)" if peer else "",
               peer_value=peer_median, peer_range=[min(peer), max(peer)] if peer else [],
               target=TARGET, met=met)
        ratio = f"{peer_median / median:.1f}x" if peer_median else "-"
        lines.append(f"| `{command.label}` | {fmt(ours)} | {f'`{command.peer}`' if peer else '-'} "
                     f"| {fmt(peer) if peer else '-'} | {ratio} | {'yes' if met else 'no'} |")
    return lines


def _mlflow_version() -> str:
    import mlflow

    return str(mlflow.__version__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="runs in each store")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds")
    parser.add_argument("--quick", action="store_true",
                        help="20 runs, one round, the entry point only: checks the harness")
    add_results_arg(parser)
    args = parser.parse_args()
    n, repeats = (20, 1) if args.quick else (args.runs, args.repeats)
    from mlopslab.client import daemon

    tmp = Path(tempfile.mkdtemp(prefix="mlopslab-bench-commands-"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    experiment, mlflow_run = seed_mlflow(uri, n)
    lab, run_id = seed_lab(tmp / "lab", n)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"MLFLOW_TRACKING_URI": uri, "COLUMNS": "120"}
    try:
        cmds = commands(tmp / "lab", run_id, experiment, mlflow_run, module_too=not args.quick)
        times = measure(cmds, repeats, env, warm=not args.quick)
    finally:
        daemon.stop(lab, stop_ray=False)
    print("\n".join(report(cmds, times, n, args.results)))


if __name__ == "__main__":
    main()
