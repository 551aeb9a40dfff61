"""Measure `mlopslab run` overhead and metric-logging throughput.

    python benchmarks/run_overhead.py [--points 200000] [--repeat 5]

Makes a fresh lab in a temporary folder (its own local Ray cluster), then:
1. cold: a one-step recipe whose step does nothing, with no service and no Ray up;
2. warm: the same recipe again (service and Ray up), --from-scratch, N times;
3. tabular-classifier, warm: wall time of the command vs the time its steps ran;
4. a step logging POINTS metric points one call each: points/s inside the step, and
   the time until every point is committed and queryable.
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

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402

NOOP = """
def noop(ctx):
    return None
"""

LOGGER = """
import time
def log(ctx):
    n = ctx.params["points"]
    start = time.perf_counter()
    for i in range(n):
        ctx.log_metric("m", i * 0.5, step=i)
    elapsed = time.perf_counter() - start
    print(f"logged {n} points in {elapsed:.3f}s: {n / elapsed:,.0f} points/s")
    return elapsed
"""


def recipe(folder: Path, name: str, code: str, function: str, params: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "recipe.toml").write_text(textwrap.dedent(f"""
        name = "{name}"
        {params}
        [[steps]]
        name = "only"
        function = "steps:{function}"
    """))
    (folder / "steps.py").write_text(code)
    return folder


def cli(lab: Path, *args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), *args, "--json"],
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def step_seconds(run: dict) -> float:
    total = 0.0
    for step in run["steps"]:
        start, end = (datetime.fromisoformat(step[k]) for k in ("started_at", "ended_at"))
        total += (end - start).total_seconds()
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 points, 1 repeat: checks the harness")
    add_results_arg(parser)
    args = parser.parse_args()
    if args.quick:
        args.points, args.repeat = 2_000, 1
    root = Path(tempfile.mkdtemp(prefix="mlopslab-bench-"))
    subprocess.run([sys.executable, "-m", "mlopslab", "init", str(root / "lab")], check=True,
                   capture_output=True)
    lab = root / "lab"
    noop = recipe(root / "noop", "noop", NOOP, "noop")
    rows = []
    try:
        cold, _ = cli(lab, "run", str(noop))
        rows.append(("no-op recipe, cold (service and Ray start)", f"{cold:.2f} s"))
        warm = [cli(lab, "run", str(noop), "--from-scratch")[0] for _ in range(args.repeat)]
        record(args.results, benchmark="run_overhead", figure="no-op recipe run, warm (the CLI's wall time)",
               unit="s", ours=statistics.median(warm), lower_is_better=True)
        rows.append((f"no-op recipe, warm, median of {args.repeat}",
                     f"{statistics.median(warm):.2f} s (min {min(warm):.2f})"))
        cached = [cli(lab, "run", str(noop))[0] for _ in range(args.repeat)]
        rows.append(("no-op recipe, warm, step from cache", f"{statistics.median(cached):.2f} s"))
        tab = str(lab / "recipes" / "tabular-classifier")
        walls, inside = [], []
        for _ in range(3):
            wall, run = cli(lab, "run", tab, "--from-scratch")
            walls.append(wall)
            inside.append(step_seconds(run))
        rows.append(("tabular-classifier, warm: command wall time",
                     f"{statistics.median(walls):.2f} s"))
        rows.append(("tabular-classifier: time inside its 4 steps (incl. worker imports)",
                     f"{statistics.median(inside):.2f} s"))
        rows.append(("tabular-classifier: overhead (wall - steps)",
                     f"{statistics.median(w - i for w, i in zip(walls, inside, strict=True)):.2f} s"))
        logger = recipe(root / "logger", "logger", LOGGER, "log",
                        params=f'[params.points]\ntype = "int"\ndefault = {args.points}')
        wall, run = cli(lab, "run", str(logger))
        series = cli(lab, "runs", "metrics", run["id"])[1]
        assert len(series) == args.points, len(series)
        logs = subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), "runs",
                               "logs", run["id"]], capture_output=True, text=True).stdout
        line = next(x for x in logs.splitlines() if x.startswith("logged"))
        rows.append((f"metric logging: {args.points:,} ctx.log_metric calls in one step",
                     line.split(": ", 1)[1]))
        record(args.results, benchmark="ingest", figure=f"step context: {args.points:,} ctx.log_metric calls, "
               "points/s until the run is finished", unit="points/s", ours=args.points / wall,
               lower_is_better=False, note="includes the run's start")
        rows.append(("metric logging: run wall time until all points are committed",
                     f"{wall:.2f} s ({args.points / wall:,.0f} points/s end to end)"))
    finally:
        subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), "lab", "stop"],
                       capture_output=True)
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
