"""Regenerate screenshots/ (SVG, and PNG where rsvg-convert exists) from a demo lab.

    python scripts/screenshots.py [LAB] [--tui-only]

CLI output: without LAB it runs `mlopslab demo` into a temporary folder first
(about 40 s). TUI screens (`screenshots/tui-*.svg`): every scenario of
tests/tui/scenarios.py, played over a lab of 500 seeded runs with a fixed clock
and replayed GPU samples, so they match the snapshot tests (about 25 s); the
Models screens over the seeded registry of tests/tui/seed_models.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "screenshots"


def png(svg: Path) -> None:
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-f", "png", "-o", str(svg.with_suffix(".png")), str(svg)],
                       check=True)


def tui_screens() -> None:
    """Every screen over the seeded labs of the snapshot tests (runs, then the registry)."""
    sys.path.insert(0, str(REPO))
    from tests.tui.conftest import make_seeded_lab
    from tests.tui.scenarios import MODEL_SCENARIOS, SCENARIOS
    from tests.tui.seed_models import make_models_lab

    OUT.mkdir(exist_ok=True)
    render(make_seeded_lab(Path(tempfile.mkdtemp(prefix="mlopslab-shots-tui-")) / "lab", 500), SCENARIOS)
    render(make_models_lab(Path(tempfile.mkdtemp(prefix="mlopslab-shots-models-")) / "lab"), MODEL_SCENARIOS)


def render(lab: Any, scenarios: list[Any]) -> None:
    """`screenshots/tui-NAME.svg` (and .png) of each scenario over `lab`; stops its service."""
    from mlopslab.service import daemon
    from tests.tui.scenarios import play_sync

    try:
        for scenario in scenarios:
            svg = OUT / f"tui-{scenario.name}.svg"
            svg.write_text(play_sync(lab, scenario))
            png(svg)
            print(f"wrote {svg}")
    finally:
        daemon.stop(lab, stop_ray=False)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--tui-only"]
    if "--tui-only" not in sys.argv:
        cli_output(args)
    tui_screens()


def cli_output(args: list[str]) -> None:
    from mlopslab.cli import output
    from mlopslab.lab import Lab
    from mlopslab.service.client import LabClient

    if args:
        lab = Lab(Path(args[0]).resolve())
    else:
        root = Path(tempfile.mkdtemp(prefix="mlopslab-shots-")) / "lab"
        subprocess.run([sys.executable, "-m", "mlopslab", "demo", str(root)], check=True,
                       capture_output=True)
        lab = Lab(root)
    console = Console(record=True, width=120, force_terminal=True, color_system="truecolor",
                      highlight=False, file=open(os.devnull, "w"))  # noqa: SIM115
    output.console = console
    with LabClient(lab) as client:
        runs = client.call("list_runs", limit=20)
        console.print("[bold]$ mlopslab runs ls[/]")
        console.print(output.runs_table(runs, metric_keys=4))
        console.print(f"\n[bold]$ mlopslab runs show {runs[-1]['id']}[/]")
        output.run_detail(client.call("get_run", run_id=runs[-1]["id"]))
    OUT.mkdir(exist_ok=True)
    svg = OUT / "runs-ls.svg"
    console.save_svg(str(svg), title="mlopslab")
    png(svg)
    print(f"wrote {svg}")
    subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "lab", "stop"],
                   capture_output=True)


if __name__ == "__main__":
    main()
