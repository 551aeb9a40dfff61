"""`mlopslab tui` (and bare `mlopslab`): the terminal UI."""

from __future__ import annotations

from pathlib import Path

import click

from mlopslab.cli import cli, lab_of

DEMO_RECORDING = Path(__file__).resolve().parents[1] / "monitor" / "recordings" / "demo-2gpu.jsonl"


@cli.command()
@click.option("--demo-gpus", is_flag=True, help="Show a recorded two-GPU machine instead of this one's GPUs.")
@click.option("--gpu-source", metavar="SPEC", help="GPU source: nvml, none or replay:PATH (default: the service's).")
@click.option("--screen", "start", default="dashboard",
              type=click.Choice(["dashboard", "runs", "queue", "recipes", "gpus", "models", "deployments",
                                 "alerts", "cost"]),
              help="Screen to open first.")
@click.pass_context
def tui(ctx: click.Context, demo_gpus: bool, gpu_source: str | None, start: str) -> None:
    """Open the terminal UI over the lab (keys: ? for help, 1-9 screens, q quits)."""
    from mlopslab.monitor.gpu import open_source
    from mlopslab.tui.app import build_app

    lab = lab_of(ctx)
    spec = f"replay:{DEMO_RECORDING}" if demo_gpus else gpu_source
    build_app(lab, gpu_source=open_source(spec) if spec else None, start=start).run()
