"""Regenerate screenshots/ (SVG, and PNG where rsvg-convert exists) from a demo lab.

    python scripts/screenshots.py [LAB]

Without LAB it runs `mlopslab demo` into a temporary folder first (about 40 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

OUT = Path(__file__).resolve().parents[1] / "screenshots"


def main() -> None:
    from mlopslab.cli import output
    from mlopslab.lab import Lab
    from mlopslab.service.client import LabClient

    if len(sys.argv) > 1:
        lab = Lab(Path(sys.argv[1]).resolve())
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
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-f", "png", "-o", str(svg.with_suffix(".png")), str(svg)],
                       check=True)
    print(f"wrote {svg}")
    subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "lab", "stop"],
                   capture_output=True)


if __name__ == "__main__":
    main()
