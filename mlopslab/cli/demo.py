"""`mlopslab demo`: a lab made and exercised end to end, in one command."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlopslab.cli import cli

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
    """Make a lab in PATH (default: a new temporary folder) and run the bundled recipes."""
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
    finally:
        if not keep_running:
            daemon.stop(lab)
    console.print(runs_table(final, metric_keys=4))
    console.print(f"done in {time.monotonic() - started:.0f}s. Look around:")
    console.print(f"  cd {lab.root}\n  mlopslab runs ls\n  mlopslab runs show {ids[0]}\n"
                  f"  mlopslab runs metrics {ids[-1]} --key val_accuracy")
    if any(r["status"] != "finished" for r in final):
        raise SystemExit(1)


def _run(client: LabClient, lab: Lab, recipe: str, sets: list[str]) -> str:
    from mlopslab.cli.follow import follow_logs
    from mlopslab.cli.output import console
    from mlopslab.cli.run_cmd import build_specs

    spec = build_specs(lab, str(lab.recipes / recipe), {"sets": sets})[0]
    run = client.call("submit_run", spec=spec)
    follow_logs(client, run["id"], console)
    return str(run["id"])
