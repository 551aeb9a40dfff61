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
    from mlopslab.lab import Lab
    from mlopslab.service.client import LabClient

DEMO_RUNS = [
    ("tabular-classifier", ["n_estimators=50"]),
    ("tabular-classifier", ["n_estimators=200", "max_depth=8"]),
    ("mlp-digits", ["epochs=8"]),
]


@cli.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--keep-running", is_flag=True,
              help="Leave the lab service and Ray running afterwards.")
def demo(path: str | None, keep_running: bool) -> None:
    """Make a lab in PATH (default: a new temporary folder), run the bundled recipes, promote
    a model through its gates, deploy it blue/green, query it and roll it back."""
    from mlopslab.cli.output import console, runs_table
    from mlopslab.lab import init_lab
    from mlopslab.service import daemon
    from mlopslab.service.client import LabClient

    root = Path(path) if path else Path(tempfile.mkdtemp(prefix="mlopslab-demo-"))
    lab = init_lab(root / "lab" if not path else root, "demo")
    console.print(f"[bold]1. made a lab[/] in {lab.root}")
    started = time.monotonic()
    ids = []
    try:
        with LabClient(lab) as client:
            for n, (recipe, sets) in enumerate(DEMO_RUNS, start=2):
                console.print(f"[bold]{n}. mlopslab run recipes/{recipe} "
                              + " ".join(f"--set {s}" for s in sets) + "[/]")
                ids.append(_run(client, lab, recipe, sets))
            final = [client.call("get_run", run_id=i) for i in ids]
            console.print(runs_table(final, metric_keys=4))
            if any(r["status"] != "finished" for r in final):
                raise SystemExit(1)
            serve_demo(client, lab, keep_running)
    finally:
        if not keep_running:
            daemon.stop(lab)
    console.print(f"done in {time.monotonic() - started:.0f}s. Look around:")
    console.print(f"  cd {lab.root}\n  mlopslab            # the terminal UI\n  mlopslab runs ls\n"
                  f"  mlopslab runs show {ids[0]}\n  mlopslab models ls {MODEL}\n"
                  f"  mlopslab lineage model:{MODEL}:champion")


MODEL = "breast-cancer"  # the name the tabular recipe registers its models under


def serve_demo(client: LabClient, lab: Lab, keep_running: bool) -> None:
    """Promote through the gates, deploy blue/green, infer, roll back."""
    from mlopslab.cli.output import console

    versions = _registered(client, 2)
    first, second = versions[0]["version"], versions[1]["version"]
    console.print(f"[bold]5. mlopslab promote {MODEL}@{first}[/]  (the gates run first)")
    _show_promotion(client.call("promote", ref=f"{MODEL}@{first}", actor="demo"))
    console.print(f"[bold]6. mlopslab promote {MODEL}@{second}[/]")
    _show_promotion(client.call("promote", ref=f"{MODEL}@{second}", actor="demo"))
    console.print(f"[bold]7. mlopslab deploy {MODEL}@{first} --backend process[/]")
    shown = client.call("deploy", ref=f"{MODEL}@{first}", name=MODEL, backend="process")
    rows = _holdout_rows(lab, 3)
    console.print(f"   endpoint {shown['endpoint']}: {_infer(shown['endpoint'], rows)}")
    console.print(f"[bold]8. mlopslab deploy {MODEL}@{second}[/]  (blue/green on the same endpoint)")
    client.call("deploy", ref=f"{MODEL}@{second}", name=MODEL, backend="process")
    console.print(f"   {_infer(shown['endpoint'], rows)}")
    console.print(f"[bold]9. mlopslab rollback {MODEL}[/]")
    rolled = client.call("rollback", name=MODEL, actor="demo", reason="demo")
    console.print(f"   switched back in {rolled['rollback_s'] * 1000:.1f} ms: "
                  f"{_infer(shown['endpoint'], rows)}")
    if not keep_running:
        client.call("undeploy", name=MODEL, actor="demo")


def _registered(client: LabClient, count: int, timeout_s: float = 60) -> list[dict[str, Any]]:
    """The tabular runs' model versions, oldest first (the service registers them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            versions = client.call("model_versions", name=MODEL)
        except MlopslabError:
            versions = []
        if len(versions) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if len(versions) < count:
        raise MlopslabError(f"the demo's runs were not registered as {MODEL} versions in time")
    return sorted(versions, key=lambda v: int(v["version"]))[:count]


def _show_promotion(result: dict[str, Any]) -> None:
    from mlopslab.cli.output import console

    report = result.get("report") or {}
    failed = [c["name"] for c in report.get("checks", []) if not c.get("passed")]
    if result.get("promoted"):
        console.print(f"   champion is now {MODEL}@{result.get('version', '?')} "
                      f"({len(report.get('checks', []))} gate checks passed)")
    else:
        console.print(f"   refused ({result.get('why', 'gates failed')}): failing checks "
                      f"{', '.join(failed) or 'none'}; `promote` exits 1 in the CLI")


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


def _run(client: LabClient, lab: Lab, recipe: str, sets: list[str]) -> str:
    from mlopslab.cli.follow import follow_logs
    from mlopslab.cli.output import console
    from mlopslab.cli.run_cmd import build_specs

    spec = build_specs(lab, str(lab.recipes / recipe), {"sets": sets})[0]
    run = client.call("submit_run", spec=spec)
    follow_logs(client, run["id"], console)
    return str(run["id"])
