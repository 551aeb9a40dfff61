"""Scheduling, side by side: N one-second runs that each need one (logical) GPU, through
mlopslab's queue, beside bare `ray.remote(num_gpus=1)` tasks on the same resources.

    python benchmarks/scheduling.py [--runs 200] [--gpus 4] [--seconds 1] [--quick] [--results FILE]

mlopslab: a fresh lab whose local Ray cluster advertises `--gpus` logical GPUs; one
`mlopslab run sleeper --sweep i=1..N --gpus 1 --detach` submits every run at once
(each waits in the queue for a GPU). *GPU freed -> next step running* chains the
runs of each GPU (`gpu_ids`) and takes the
time from one run's end to the next run's first step line on that GPU. Peer: the
same N tasks (sleep, one GPU each) submitted at once to a fresh local Ray cluster
with the same GPUs, timed by each task's own start and end. Medians and p95.
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
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from queue_overhead import SLEEPER, cli  # noqa: E402 - the same sleeper recipe and CLI call
from results import add_results_arg, record  # noqa: E402

RECIPE = """
name = "sleeper"
[params.seconds]
type = "float"
default = 1.0
[params.i]
type = "int"
default = 0
[[steps]]
name = "work"
function = "steps:work"
"""

PEER = """
import json, sys, time
import ray
n, gpus, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ray.init(num_cpus=max(gpus, 2), num_gpus=gpus, include_dashboard=False, log_to_driver=False)

@ray.remote(num_gpus=1, num_cpus=0)
def work(seconds):
    start = time.time()
    gpu = ray.get_gpu_ids()[0]
    time.sleep(seconds)
    return {"start": start, "end": time.time(), "gpu": str(gpu)}

ray.get([work.remote(0.01) for _ in range(gpus)])  # workers started, as the lab's warm-up run does
submitted = time.time()
found = ray.get([work.remote(seconds) for _ in range(n)])
print(json.dumps({"submitted": submitted, "tasks": found}))
ray.shutdown()
"""


def make_lab(root: Path) -> Path:
    lab = root / "lab"
    subprocess.run([sys.executable, "-m", "mlopslab", "init", str(lab)], check=True, capture_output=True)
    recipe = lab / "recipes" / "sleeper"
    recipe.mkdir(parents=True)
    (recipe / "recipe.toml").write_text(textwrap.dedent(RECIPE))
    (recipe / "steps.py").write_text(SLEEPER)
    return lab


def ours(root: Path, n: int, gpus: int, seconds: float) -> dict[str, list[float]]:
    from mlopslab.client import LabClient
    from mlopslab.lab import Lab

    lab = make_lab(root)
    try:
        cli(lab, "lab", "start", "--gpus", str(gpus))
        cli(lab, "run", "sleeper", "--gpus", "1", "--set", "seconds=0.01")  # Ray up, as a used lab is
        sweep = ",".join(str(i) for i in range(1, n + 1))
        submitted = cli(lab, "run", "sleeper", "--gpus", "1", "--detach", "--from-scratch",
                        "--set", f"seconds={seconds}", "--sweep", f"i={sweep}")
        ids = [r["id"] for r in (submitted if isinstance(submitted, list) else [submitted])]
        with LabClient(Lab(lab)) as client:
            runs = wait_all(client, ids, timeout=60 + n * seconds * 20)
            starts = {r.id: first_step_line(client, r.id) for r in runs}
        return chains([{"id": r.id, "queued": r.queued_at.timestamp(), "start": starts[r.id],
                        "end": r.ended_at.timestamp(), "gpu": ",".join(map(str, r.gpu_ids or []))}
                       for r in runs])
    finally:
        subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), "lab", "stop"],
                       capture_output=True, check=False)


def wait_all(client: Any, ids: list[str], timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [client.runs.get(run_id=i) for i in ids]
        if all(r.status in ("finished", "failed", "killed") for r in runs):
            failed = [r.id for r in runs if r.status != "finished"]
            if failed:
                raise RuntimeError(f"runs did not finish: {failed[:5]}")
            return runs
        time.sleep(1)
    raise TimeoutError(f"{len(ids)} runs not done in {timeout:.0f} s")


def first_step_line(client: Any, run_id: str) -> float:
    return min(line.ts.timestamp() for line in client.runs.logs(run_id=run_id) if line.line == "step started")


def peer(n: int, gpus: int, seconds: float) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-c", PEER, str(n), str(gpus), str(seconds)], capture_output=True,
                          text=True, check=True, timeout=600 + n * seconds * 5)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return chains([{**t, "queued": found["submitted"]} for t in found["tasks"]])


def chains(items: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per GPU, in start order: each start after the previous end on that GPU; and the
    first wave's wait from submission to start."""
    freed: list[float] = []
    for gpu in {i["gpu"] for i in items}:
        mine = sorted((i for i in items if i["gpu"] == gpu), key=lambda i: i["start"])
        freed += [b["start"] - a["end"] for a, b in zip(mine, mine[1:], strict=False)]
    first = sorted(items, key=lambda i: i["start"])[:len({i["gpu"] for i in items})]
    return {"freed": freed, "submitted": [i["start"] - i["queued"] for i in first]}


def p95(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--gpus", type=int, default=4, help="logical GPUs of the cluster")
    parser.add_argument("--seconds", type=float, default=1.0, help="how long each run's step sleeps")
    parser.add_argument("--quick", action="store_true", help="6 runs on 2 GPUs: checks the harness")
    add_results_arg(parser)
    a = parser.parse_args()
    if a.quick:
        a.runs, a.gpus, a.seconds = 6, 2, 0.2
    with tempfile.TemporaryDirectory(prefix="mlopslab-bench-sched-") as tmp:
        started = time.monotonic()
        mine = ours(Path(tmp), a.runs, a.gpus, a.seconds)
        took = time.monotonic() - started
    theirs = peer(a.runs, a.gpus, a.seconds)
    print(f"{a.runs} runs of {a.seconds} s, one of {a.gpus} logical GPUs each; mlopslab's took {took:.0f} s\n")
    print("| measurement | mlopslab median | p95 | bare ray.remote median | p95 | n |\n|---|---:|---:|---:|---:|---:|")
    labels = {"freed": "GPU freed -> next step running", "submitted": "submission -> step running"}
    for key, label in labels.items():
        m, t = mine[key], theirs[key]
        print(f"| {label} | {statistics.median(m):.3f} s | {p95(m):.3f} s | {statistics.median(t):.3f} s "
              f"| {p95(t):.3f} s | {len(m)} |")
    record(a.results, benchmark="scheduling", figure=f"GPU freed -> next step running, median ({a.runs} runs, "
           f"{a.gpus} GPUs)", unit="s", ours=statistics.median(mine["freed"]), lower_is_better=True,
           peer="bare ray.remote(num_gpus=1)", peer_value=statistics.median(theirs["freed"]),
           target="under 0.5 s", met=statistics.median(mine["freed"]) < 0.5)
    record(a.results, benchmark="scheduling", figure="submission -> step running, median", unit="s",
           ours=statistics.median(mine["submitted"]), lower_is_better=True,
           peer="bare ray.remote(num_gpus=1)", peer_value=statistics.median(theirs["submitted"]))


if __name__ == "__main__":
    main()
