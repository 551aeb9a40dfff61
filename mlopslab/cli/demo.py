"""`mlopslab demo`: a lab made and exercised end to end, in one command."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli import cli
from mlopslab.core.errors import MlopslabError

if TYPE_CHECKING:
    from mlopslab.client import LabClient
    from mlopslab.core.gate_reports import GateVerdict
    from mlopslab.core.registry import Promotion
    from mlopslab.lab import Lab

DEMO_RUNS = [
    ("tabular-classifier", ["n_estimators=50"]),
    ("tabular-classifier", ["n_estimators=200", "max_depth=8"]),
    ("mlp-digits", ["epochs=8"]),
]


@cli.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--keep-running", is_flag=True,
              help="Leave the lab service, Ray and the deployment running afterwards.")
def demo(path: str | None, keep_running: bool) -> None:
    """Make a lab in PATH (default: a new temporary folder), run the bundled recipes, gate and
    promote a model, deploy it blue/green, query it and roll it back."""
    from mlopslab.cli.output import console, runs_table
    from mlopslab.client import LabClient, daemon
    from mlopslab.lab import init_lab

    root = Path(path) if path else Path(tempfile.mkdtemp(prefix="mlopslab-demo-"))
    lab = init_lab(root / "lab" if not path else root, "demo")
    say(f"[bold]1. mlopslab init[/] {lab.root}")
    write_script(lab)
    versioned = version_data(lab)
    say(f"   git init, dvc init, dvc add: {versioned}" if versioned else
        "   git or dvc is not installed: the data is versioned by its sha256")
    started = time.monotonic()
    ids: list[str] = []
    versions: list[int] = []
    endpoint = None
    try:
        with LabClient(lab) as client:
            say("   starting the lab service and a local Ray cluster (once, for every run)")
            client.service.cluster()
            for n, (recipe, sets) in enumerate(DEMO_RUNS, start=2):
                say(f"[bold]{n}. mlopslab run recipes/{recipe}[/] " + " ".join(f"--set {s}" for s in sets))
                ids.append(_run(client, lab, recipe, sets))
                if recipe == TABULAR:
                    versions.append(_registered(client, ids[-1]))
            n = len(DEMO_RUNS) + 2
            say(f"[bold]{n}. mlopslab run scripts/train_logreg.py -- --C 0.5 --data "
                f"recipes/{TABULAR}/data/breast_cancer.csv[/]  (a plain script, tracked with mlopslab.start_run)")
            ids.append(_run_script(client, lab))
            final = [client.runs.get(run_id=i) for i in ids]
            console.print(runs_table(final, metric_keys=4))
            if any(r.status != "finished" for r in final):
                raise SystemExit(1)
            endpoint = serve_demo(client, lab, versions, keep_running)
    finally:
        if not keep_running:
            daemon.stop(lab)
    _say_end(lab, endpoint, keep_running, time.monotonic() - started, ids)


MODEL = "breast-cancer"  # the name the tabular recipe registers its models under
TABULAR = "tabular-classifier"
QUIET = ("connecting to Ray", "connected to Ray", "registered model ")  # said once by the demo itself


def say(text: str) -> None:
    """One demo line; long ones are never broken inside a command (the terminal wraps them)."""
    from mlopslab.cli.output import console

    console.print(text, soft_wrap=True, highlight=False)


def _say_end(lab: Lab, endpoint: str | None, keep_running: bool, seconds: float, ids: list[str]) -> None:
    if keep_running:
        say(f"still running: the lab service and its Ray cluster, and deployment {MODEL} at {endpoint}")
        say(f"  stop them: mlopslab --lab {lab.root} undeploy {MODEL} && mlopslab --lab {lab.root} lab stop")
    else:
        say(f"undeployed {MODEL} (its endpoint is gone) and stopped the lab service and Ray "
            "(--keep-running leaves them up)")
    say(f"done in {seconds:.0f}s. Open the TUI on this lab (it starts the service again): "
        f"mlopslab --lab {lab.root} tui")
    say("Or look around from the command line:")
    for command in ("mlopslab runs ls", f"mlopslab runs show {ids[0]}",
                    f"mlopslab models ls {MODEL}", f"mlopslab lineage model:{MODEL}:champion"):
        say(f"  mlopslab --lab {lab.root} {command.removeprefix('mlopslab').strip()}".rstrip())


def serve_demo(client: LabClient, lab: Lab, versions: list[int], keep_running: bool) -> str:
    """Gate and promote the tabular runs' two versions, deploy blue/green, infer, roll back;
    the stable endpoint."""
    first, second = versions[0], versions[1]
    step = len(DEMO_RUNS) + 3
    for number in (first, second):
        say(f"[bold]{step}. mlopslab gate {MODEL}@{number}[/]  (against the champion, on the evaluation set)")
        _show_gate(client.models.gate(ref=f"{MODEL}@{number}", actor="demo"))
        say(f"[bold]{step + 1}. mlopslab promote {MODEL}@{number}[/]  (only through passing gates)")
        _show_promotion(client.models.promote(ref=f"{MODEL}@{number}", actor="demo"))
        step += 2
    from mlopslab.deploy.docker import engine_problem

    problem = engine_problem()
    backend = "process" if problem else "docker"
    if problem:
        say(f"   {problem.split(':')[0]}: the process backend serves it")
    say(f"[bold]{step}. mlopslab deploy {MODEL}@{first} --backend {backend}[/]")
    shown = client.deployments.deploy(ref=f"{MODEL}@{first}", name=MODEL, backend=backend)
    endpoint = shown.endpoint
    rows = _holdout_rows(lab, 3)
    say(f"   stable endpoint {endpoint}")
    say(f"   {_infer(endpoint, rows)}")
    say(f"[bold]{step + 1}. mlopslab deploy {MODEL}@{second}[/]  (blue/green on the same endpoint)")
    client.deployments.deploy(ref=f"{MODEL}@{second}", name=MODEL, backend=backend)
    say(f"   {_infer(endpoint, rows)}")
    say(f"[bold]{step + 2}. mlopslab rollback {MODEL}[/]")
    rolled = client.deployments.rollback(name=MODEL, actor="demo", reason="demo")
    say(f"   switched back in {rolled.rollback_s * 1000:.1f} ms: {_infer(endpoint, rows)}")
    if not keep_running:
        say(f"[bold]{step + 3}. mlopslab undeploy {MODEL}[/]")
        client.deployments.undeploy(name=MODEL, actor="demo")
    return endpoint


def _registered(client: LabClient, run_id: str, timeout_s: float = 60) -> int:
    """The version the service registers a finished run's model as, a moment after the run
    ends: waited for, and said."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            versions = client.models.versions(name=MODEL)
        except MlopslabError:
            versions = []
        for v in versions:
            if v.run_id == run_id:
                score = (v.scores or {}).get("accuracy")
                say(f"   registered model {MODEL}@{v.version}"
                    + (f" (accuracy {score:.4f}, ONNX Runtime on its holdout)" if score is not None else ""))
                return v.version
        time.sleep(0.3)
    raise MlopslabError(f"run {run_id} was not registered as a {MODEL} version within {timeout_s:.0f}s",
                        f"see its logs: mlopslab runs logs {run_id}")


def _show_gate(report: GateVerdict) -> None:
    evaluation = report.evaluation
    where = ("its holdout" if evaluation is None else
             f"evaluation set {evaluation.set} ({evaluation.source})" if evaluation.set
             else str(evaluation.source))
    if report.passed:
        say(f"   passed: {len(report.checks)} checks on {where}")
        return
    say(f"   failed on {where}: " + "; ".join(
        f"{c.gate}.{c.name}" + (f" ({c.detail['error']})" if (c.detail or {}).get("error") else "")
        for c in report.checks if not c.passed) + "; `gate` exits 1 in the CLI")


def _show_promotion(result: Promotion) -> None:
    if result.promoted:
        was = result.from_version
        say(f"   champion is now {MODEL}@{result.version} (was {was if was is not None else 'none'})")
    else:
        say(f"   refused: {result.why}; `promote` exits 1 in the CLI")


def _holdout_rows(lab: Lab, n: int) -> list[list[float]]:
    import csv

    path = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    with path.open() as f:
        reader = csv.DictReader(f)
        return [[float(v) for k, v in row.items() if k not in ("target", "group")]
                for _, row in zip(range(n), reader, strict=False)]


def _infer(endpoint: str, rows: list[list[float]]) -> str:
    """One Open Inference Protocol request; what came back, in one line."""
    import json
    import urllib.request

    body = {"inputs": [{"name": "input", "shape": [len(rows), len(rows[0])], "datatype": "FP32",
                        "data": [v for row in rows for v in row]}]}
    request = urllib.request.Request(f"{endpoint}/v2/models/{MODEL}/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - our own 127.0.0.1 endpoint
        answer = json.loads(reply.read())
    ms = (time.perf_counter() - start) * 1000
    outputs = {o["name"]: o["data"] for o in answer["outputs"]}
    label = next(iter(outputs.values()))
    return f"version {answer.get('model_version')} predicts {label} for {len(rows)} rows in {ms:.1f} ms"


SCRIPT = """\
# A plain training script: the tracking API makes it a run of the lab (docs/tracking.md).
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import mlopslab

data = sys.argv[sys.argv.index("--data") + 1]
c = float(sys.argv[sys.argv.index("--C") + 1])
with mlopslab.start_run(name="train_logreg", params={"C": c}) as run:
    run.log_input(data)
    table = np.genfromtxt(data, delimiter=",", names=True, dtype=None, encoding="utf-8")
    features = [n for n in table.dtype.names if n not in ("target", "group")]
    x = np.column_stack([table[n] for n in features]).astype(float)
    x_train, x_test, y_train, y_test = train_test_split(x, table["target"], test_size=0.25, random_state=0)
    model = LogisticRegression(C=c, max_iter=2000).fit(x_train, y_train)
    run.log_metrics({"accuracy": model.score(x_test, y_test), "train_accuracy": model.score(x_train, y_train)})
    run.log_model(model, sample_input=x_test[:1])
    print(f"accuracy {model.score(x_test, y_test):.4f}")
"""


def write_script(lab: Lab) -> Path:
    script = lab.root / "scripts" / "train_logreg.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(SCRIPT)
    return script


def version_data(lab: Lab) -> str | None:
    """Put the lab's recipes and script under git and the recipes' datasets under DVC
    (`git init`, `dvc init`, `dvc add`, a commit), so runs record a git code version and
    DVC's md5 of their data; what was done, or None when git or dvc is not installed."""
    import os
    import shutil
    import subprocess
    import sys

    git = shutil.which("git")
    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    if git is None or not Path(dvc).is_file():
        return None
    data = sorted(str(p.relative_to(lab.root)) for p in lab.recipes.glob("*/data/*") if p.is_file())
    ignore = lab.root / ".gitignore"  # the lab's own (its store, artifacts, runs), and its deployments
    kept = ignore.read_text() if ignore.is_file() else ""
    ignore.write_text(kept + "".join(f"{line}\n" for line in ("deployments/",) if line not in kept.split()))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "mlopslab demo",
           "GIT_AUTHOR_EMAIL": "demo@localhost", "GIT_COMMITTER_NAME": "mlopslab demo",
           "GIT_COMMITTER_EMAIL": "demo@localhost"}
    for command in ([git, "init", "-q"], [dvc, "init", "-q"], [dvc, "add", "-q", *data],
                    [git, "add", ".gitignore", ".dvc", ".dvcignore", "recipes", "scripts", "mlopslab.toml"],
                    [git, "commit", "-qm", "the demo lab; its datasets under DVC"]):
        done = subprocess.run(command, cwd=lab.root, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise MlopslabError(f"{Path(command[0]).name} {command[1]} failed in {lab.root}: "
                                f"{(done.stderr or done.stdout).strip()[:300]}")
    return f"{len(data)} datasets under DVC ({', '.join(Path(d).name for d in data)}), committed"


def _run_script(client: LabClient, lab: Lab) -> str:
    """Run the demo's plain script as `mlopslab run SCRIPT.py` does."""
    from mlopslab.cli.follow import follow_logs
    from mlopslab.runspecs import RunOptions, build_script_spec

    script = lab.root / "scripts" / "train_logreg.py"
    data = lab.recipes / TABULAR / "data" / "breast_cancer.csv"
    spec = build_script_spec(lab, str(script), RunOptions(), ("--C", "0.5", "--data", str(data)))
    run = client.runs.submit(spec=spec)
    follow_logs(client, run.id, _Quiet())
    return run.id


def _run(client: LabClient, lab: Lab, recipe: str, sets: list[str]) -> str:
    from mlopslab.cli.follow import follow_logs
    from mlopslab.runspecs import RunOptions, build_specs

    spec = build_specs(lab, str(lab.recipes / recipe), RunOptions(sets=tuple(sets)))[0]
    run = client.runs.submit(spec=spec)
    follow_logs(client, run.id, _Quiet())
    return run.id


class _Quiet:
    """The console for a run's logs, less the lines the demo says once itself."""

    def print(self, text: str, **kw: Any) -> None:
        from mlopslab.cli.output import console

        if not str(text).startswith(QUIET):
            console.print(text, **kw)
