"""The benchmark suite: every benchmark beside its peer, one command.

    python -m benchmarks [--quick] [--only a,b] [--skip a,b] [--mlflow-python PY]
        [--evidently-python PY] [--write] [--out DIR]
    just bench            # the full suite, writing benchmarks/README.md's summary
    just bench-quick      # what CI runs: every harness works (no timing is judged)

Each benchmark is its own script (`python benchmarks/NAME.py -h`), run here as a
child process with `--results FILE`; each writes one JSON line per figure
(benchmarks/results.py) and prints its own Markdown tables. The suite fails when a
benchmark exits non-zero or records no figure, never on a timing. With `--write`
(the default for a full run) the summary table, the machine, the command and every
benchmark's own tables replace the part of benchmarks/README.md between the suite's
markers. Peers that need their own virtual environment are given with
`--mlflow-python` (full `mlflow`, for its tracking server and `mlflow models serve`)
and `--evidently-python`; without them those peers are left out and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...] = ()
    needs: str = ""  # "docker": left out (and said so) when no engine answers
    peer_flag: str = ""  # the script's flag for a peer's Python
    peer: str = ""  # which --*-python of the suite feeds it
    what: str = ""  # the size, shown in README's headings


SUITE = (
    Bench("ingest", "ingest.py", peer_flag="--mlflow-server-python", peer="mlflow",
          what="4 writers x 25 runs x 100 metrics x 1,000 steps"),
    Bench("log_metric", "log_metric_call.py", what="one process, one metric"),
    Bench("run_overhead", "run_overhead.py", what="warm no-op run; step-context logging"),
    Bench("search", "search.py", what="10k and 100k runs"),
    Bench("compare", "compare.py", what="100 runs x 1,000 steps"),
    Bench("serving", "serving_throughput.py", peer_flag="--mlflow-python", peer="mlflow",
          what="req/s at p99 < 20 ms"),
    Bench("rollback-process", "serving_rollback.py", ("--backend", "process")),
    Bench("rollback-docker", "serving_rollback.py", ("--backend", "docker"), needs="docker"),
    Bench("scheduling", "scheduling.py", what="one-GPU runs on logical GPUs"),
    Bench("commands", "commands.py", what="CLI wall time"),
    Bench("tui", "tui_runs.py", what="100k and 1M runs"),
    Bench("drift", "drift.py", peer_flag="--peer-python", peer="evidently", what="1M rows x 30 features"),
    Bench("monitor", "monitor_cpu.py", what="8 GPUs at 1 Hz"),
)


def docker_answers() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    done = subprocess.run([docker, "info"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def run_one(bench: Bench, a: argparse.Namespace, out: Path) -> dict[str, Any]:
    results = out / f"{bench.name}.jsonl"
    results.unlink(missing_ok=True)
    argv = [sys.executable, str(HERE / bench.script), *bench.args, "--results", str(results)]
    peer_python = getattr(a, f"{bench.peer}_python", None) if bench.peer else None
    if peer_python:
        argv += [bench.peer_flag, peer_python]
    if a.quick:
        argv.append("--quick")
    started = time.monotonic()
    print(f"== {bench.name}: {shlex.join(argv[1:])}", file=sys.stderr, flush=True)
    with (out / f"{bench.name}.log").open("w") as log:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    (out / f"{bench.name}.md").write_text(done.stdout)
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    problem = (f"exit {done.returncode} (see {out / (bench.name + '.log')})" if done.returncode
               else "recorded no figure" if not rows else "")
    return {"bench": bench, "rows": rows, "stdout": done.stdout, "seconds": time.monotonic() - started,
            "problem": problem,
            "peer_left_out": bool(bench.peer and not peer_python and not any(r.get("peer_value") for r in rows))}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    versions = []
    from importlib import metadata

    for name in ("duckdb", "pyarrow", "ray", "textual", "onnxruntime", "mlflow-skinny", "fastapi", "uvicorn"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    haproxy = shutil.which("haproxy")
    if haproxy:
        first = subprocess.run([haproxy, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
        versions.append(first.replace("HAProxy version ", "haproxy ").split(" - ")[0])
    return (f"{cpu}, {os.cpu_count()} cores, {mem / 1024**2:.0f} GiB, {gpus()}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; {', '.join(versions)}")


def gpus() -> str:
    smi = shutil.which("nvidia-smi")
    found = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False).stdout if smi else ""
    names = [line.split(":", 1)[1].split("(")[0].strip() for line in found.splitlines() if ":" in line]
    return f"{len(names)} GPU(s): {', '.join(sorted(set(names)))}" if names else "no GPU"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("points/s", "req/s") or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def summary(done: list[dict[str, Any]]) -> list[str]:
    lines = ["| benchmark | figure | unit | mlopslab | peer | peer's | mlopslab better by | target | met |",
             "|---|---|---|---:|---|---:|---:|---|---|"]
    for item in done:
        for r in item["rows"]:
            better = f"{r['better']:,.1f}x" if r.get("better") else "-"
            met = {True: "yes", False: "**no**", None: ""}[r.get("met")]
            lines.append(f"| {r['benchmark']} | {r['figure']} | {r['unit']} | {fmt(r['ours'], r['unit'])} "
                         f"| {r.get('peer') or '-'} | {fmt(r.get('peer_value'), r['unit'])} | {better} "
                         f"| {r.get('target') or ''} | {met} |")
        if item["peer_left_out"]:
            lines.append(f"| {item['bench'].name} | (a peer that needs its own venv was left out) | | | | | | | |")
        if item["problem"]:
            lines.append(f"| {item['bench'].name} | **failed: {item['problem']}** | | | | | | | |")
    return lines


def write_readme(done: list[dict[str, Any]], command: str, took: float, quick: bool) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    whole = len(done) == len(SUITE) and not quick
    title = "The suite's last run" + ("" if whole else " (quick sizes)" if quick else " (part of the suite)")
    parts = [BEGIN, f"## {title}", "",
             f"Made {when} by `{command}` in {took / 60:.1f} min on {machine()}.", "",
             *summary(done), ""]
    for item in done:
        bench = item["bench"]
        what = f", {bench.what}" if bench.what and not quick else ""
        parts += [f"### {bench.name} (`{bench.script}`{what}; {item['seconds']:.0f} s)", "",
                  item["stdout"].strip() or "(no output)", ""]
    parts.append(END)
    text = README.read_text()
    block = "\n".join(parts)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: every harness works, no timing judged")
    parser.add_argument("--only", default="", help="comma-separated names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated names to leave out")
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"),
                        help="a Python with full mlflow (its server, `mlflow models serve`)")
    parser.add_argument("--evidently-python", default=os.environ.get("EVIDENTLY_PYTHON"),
                        help="a Python with evidently (the drift peer)")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write the summary into benchmarks/README.md (default: on for a full run)")
    parser.add_argument("--out", type=Path, default=None, help="keep each benchmark's output here")
    a = parser.parse_args()
    names = [b.name for b in SUITE]
    only = [n for n in a.only.split(",") if n] or names
    skip = [n for n in a.skip.split(",") if n]
    unknown = sorted(set(only + skip) - set(names))
    if unknown:
        print(f"error: unknown benchmark(s): {', '.join(unknown)}\nhint: the suite has: {', '.join(names)}",
              file=sys.stderr)
        return 2
    out = a.out or Path(tempfile.mkdtemp(prefix="mlopslab-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    has_docker = docker_answers()
    started, done = time.monotonic(), []
    for bench in SUITE:
        if bench.name not in only or bench.name in skip:
            continue
        if bench.needs == "docker" and not has_docker:
            print(f"== {bench.name}: left out (no Docker engine answers)", file=sys.stderr)
            continue
        item = run_one(bench, a, out)
        done.append(item)
        problem = f"; {item['problem']}" if item["problem"] else ""
        print(f"   {item['seconds']:.0f} s, {len(item['rows'])} figure(s){problem}", file=sys.stderr, flush=True)
    took = time.monotonic() - started
    print("\n".join(summary(done)))
    print(f"\n{len(done)} benchmark(s) in {took:.0f} s; output in {out}", file=sys.stderr)
    if a.write if a.write is not None else not a.quick:
        write_readme(done, shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]]), took, a.quick)
    failed = [i["bench"].name for i in done if i["problem"]]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
