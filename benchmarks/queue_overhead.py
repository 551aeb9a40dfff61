"""Measure the queue's overhead and the GPU-memory watchdog's reaction time.

    python benchmarks/queue_overhead.py [--chain 6] [--kills 3]

Makes a fresh lab in a temporary folder with its own local Ray cluster advertising
one logical GPU, and a replayed GPU source (docs/gpus.md), then through the CLI:

1. queue overhead: CHAIN one-GPU runs submitted at once (each sleeps 1 s) must run
   one after another; for each handover, the time from the previous run's end
   (GPU free) to the next run's start (its process marks it running), and to its
   step starting on the GPU (the step's first log line);
2. watchdog reaction: KILLS runs with gpu_memory_gb=1 whose replayed NVML sample is
   rewritten to 3 GiB; the time from that write to the run being recorded `killed`.
Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from mlopslab.monitor.gpu import script_replay

GIB = 1024**3
SLEEPER = """
import time
def work(ctx):
    print("step started", flush=True)
    time.sleep(ctx.params["seconds"])
"""


def cli(lab: Path, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), *args, "--json"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def wait(lab: Path, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = cli(lab, "runs", "show", run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise TimeoutError(run_id)


def step_started(lab: Path, run_id: str) -> float:
    done = subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), "runs", "logs",
                           run_id], capture_output=True, text=True, check=True)
    assert "step started" in done.stdout
    from mlopslab.client import LabClient
    from mlopslab.lab import Lab

    with LabClient(Lab(lab)) as client:
        lines = client.runs.logs(run_id=run_id)
    return min(line.ts.timestamp() for line in lines if line.line == "step started")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chain", type=int, default=6)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlopslab-bench-queue-"))
    lab = root / "lab"
    subprocess.run([sys.executable, "-m", "mlopslab", "init", str(lab)], check=True,
                   capture_output=True)
    replay = root / "gpus.jsonl"
    script_replay(replay, {})
    config = (lab / "mlopslab.toml").read_text()
    config = config.replace('source = "nvml"', f'source = "replay:{replay}"')
    (lab / "mlopslab.toml").write_text(config)
    recipe = lab / "recipes" / "sleeper"
    recipe.mkdir()
    (recipe / "recipe.toml").write_text(textwrap.dedent("""
        name = "sleeper"
        [params.seconds]
        type = "float"
        default = 1.0
        [[steps]]
        name = "work"
        function = "steps:work"
    """))
    (recipe / "steps.py").write_text(SLEEPER)
    try:
        cli(lab, "lab", "start", "--gpus", "1")
        cli(lab, "run", "sleeper", "--gpus", "1", "--set", "seconds=0.1")  # warm Ray workers
        rows = measure_chain(lab, args.chain) + measure_kills(lab, replay, args.kills)
    finally:
        subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), "lab", "stop"],
                       capture_output=True, check=False)
    print("| measurement | median | min | max | n |\n|---|---|---|---|---|")
    for name, values in rows:
        print(f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f} s | "
              f"{max(values):.2f} s | {len(values)} |")


def measure_chain(lab: Path, n: int) -> list[tuple[str, list[float]]]:
    ids = [cli(lab, "run", "sleeper", "--detach", "--gpus", "1", "--from-scratch")["id"] for _ in range(n)]
    runs = [wait(lab, i, ("finished", "failed")) for i in ids]
    runs.sort(key=lambda r: ts(r["started_at"]))
    to_running, to_step = [], []
    for prev, nxt in zip(runs, runs[1:], strict=False):
        freed = ts(prev["ended_at"])
        to_running.append(ts(nxt["started_at"]) - freed)
        to_step.append(step_started(lab, nxt["id"]) - freed)
    return [("queue: GPU freed -> next run running", to_running),
            ("queue: GPU freed -> next run's step running on the GPU", to_step)]


def measure_kills(lab: Path, replay: Path, n: int) -> list[tuple[str, list[float]]]:
    reactions = []
    for _ in range(n):
        run_id = cli(lab, "run", "sleeper", "--detach", "--gpus", "1", "--gpu-memory", "1",
                     "--set", "seconds=120", "--from-scratch")["id"]
        deadline = time.monotonic() + 60
        run = cli(lab, "runs", "show", run_id)
        while not (run["worker_pid"] and run["status"] == "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            run = cli(lab, "runs", "show", run_id)
        over = time.time()
        script_replay(replay, {int(run["worker_pid"]): 3 * GIB})
        killed = wait(lab, run_id, ("killed",), timeout=30)
        reactions.append(ts(killed["ended_at"]) - over)
        script_replay(replay, {})
    return [("watchdog: over the limit (replayed NVML) -> run killed, interval 1 s", reactions)]


if __name__ == "__main__":
    main()
