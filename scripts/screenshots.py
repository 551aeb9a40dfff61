"""Regenerate screenshots/ (SVG, and PNG where rsvg-convert exists) from a lab that the
bundled recipes made.

    python scripts/screenshots.py [--keep LAB | --lab LAB]

It runs `mlopslab demo --keep-running` into a new lab (two tabular-classifier runs and
an mlp-digits run, breast-cancer @1 and @2 promoted through their gates, deployed
blue/green and rolled back), then two more runs: a deliberately weak tabular one
(breast-cancer @3, which the gates refuse) and a shorter mlp-digits one. About two
minutes. Then budgets that those runs have spent (their alerts are real ones), `runs ls`
and `runs show` as the CLI prints them, and every TUI screen
at the real time. GPU panels show the recorded two-GPU machine (`mlopslab tui
--demo-gpus`) except where a screenshot says otherwise. With --keep the lab stays
(undeployed, its service stopped); --lab LAB takes such a lab instead of making one. The H100
screenshots of docs/gpu-check.md (`*-h100.svg`, from a real GPU) are kept, tidied.

(The snapshot tests in tests/tui/ play similar scenarios over seeded labs with a fixed
clock instead, so that their SVGs never change by themselves.)

Textual writes each run of same-styled text as one SVG <text> with a textLength;
librsvg drops the no-break spaces a run starts with, so words ran together in the PNGs
(`ray idle▶ 3 active`). `tidy` moves those spaces into the x position first.
"""

from __future__ import annotations

import getpass
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "screenshots"
sys.path.insert(0, str(REPO))

from tests.tui.scenarios import Scenario  # noqa: E402

# over the demo lab; the newest runs first: mlp-digits (5 epochs), tabular (weak: @3),
# then the demo's mlp-digits, tabular (@2), tabular (@1)
SHOTS = [
    Scenario("dashboard", "dashboard", size=(100, 30)),
    Scenario("dashboard-80x24", "dashboard"),
    Scenario("runs", "runs"),
    Scenario("runs-wide", "runs", ("down", "down", "down", "space", "space"), size=(120, 36)),
    Scenario("runs-filter-problem", "runs", ("slash", *"metrics.accuracy >")),
    Scenario("run-detail", "runs", ("down", "down", "down", "enter"), size=(100, 30)),
    Scenario("run-metrics", "runs", ("enter", "t", "t"), size=(100, 30)),
    Scenario("compare", "runs", ("down", "down", "down", "down", "space", "space", "c"), size=(120, 36)),  # two tabular runs
    Scenario("queue", "queue", size=(100, 24)),
    Scenario("gpus", "gpus", size=(100, 30)),
    Scenario("gpus-none", "gpus", gpus=False),
    Scenario("recipes", "recipes", ("down",), size=(100, 30)),
    Scenario("launch", "recipes", ("down", "enter", "backspace", "backspace", "x"), size=(100, 30)),
    Scenario("help", "runs", ("question_mark",)),
    Scenario("models", "models"),
    Scenario("model-promote-confirm", "models", ("enter", "p")),
    Scenario("model-promote-refused", "models", ("enter", "p", "y"), size=(100, 30)),
    Scenario("model-promote-reason", "models", ("enter", "p", "y", "f", *"hotfix"), size=(100, 30)),
    Scenario("model-version", "models", ("enter", "enter"), size=(100, 36)),
    Scenario("model-version-80x24", "models", ("enter", "enter")),
    Scenario("model-lineage", "models", ("enter", "down", "l"), size=(100, 24)),
    Scenario("deployments", "deployments", size=(100, 24)),
    Scenario("deployments-80x24", "deployments"),
    Scenario("alerts", "alerts", size=(120, 36)),
    Scenario("alerts-80x24", "alerts"),
    Scenario("cost", "cost", size=(120, 36)),
    Scenario("cost-80x24", "cost"),
    Scenario("cost-by-run", "cost", ("b", "b"), size=(120, 36)),
]

# after the runs: budgets the demo's runs have spent (so their alerts are real), and a hard one
BUDGETS = [
    ("--project", "default", "--daily", "0.0002", "--monthly", "0.0005", "--soft"),
    ("--user", getpass.getuser(), "--monthly", "5", "--soft"),
    ("--project", "vision", "--monthly", "20", "--hard"),
]

MORE_RUNS = [
    ("recipes/tabular-classifier", "--set", "n_estimators=1", "--set", "max_depth=1", "--seed", "3"),
    ("recipes/mlp-digits", "--set", "epochs=5", "--seed", "3"),
]

SPAN = re.compile(r'(<text [^>]*?x=")([\d.]+)("[^>]*?textLength=")([\d.]+)("[^>]*>)((?:&#160;)+)')


def tidy(svg: str) -> str:
    """Move the no-break spaces that start a <text> into its x, so librsvg keeps the gap."""

    def shift(m: re.Match[str]) -> str:
        spaces = m.group(6).count("&#160;")
        body_end = svg.find("</text>", m.end())
        chars = len(html.unescape(svg[m.start(6):body_end]))
        cell = float(m.group(4)) / max(chars, 1)
        x = float(m.group(2)) + spaces * cell
        length = float(m.group(4)) - spaces * cell
        return f"{m.group(1)}{x:g}{m.group(3)}{length:g}{m.group(5)}"

    return SPAN.sub(shift, svg)


def png(svg: Path) -> None:
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-f", "png", "-o", str(svg.with_suffix(".png")), str(svg)],
                       check=True)


def mlopslab(lab: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab), *args], check=True,
                   capture_output=True)


def make_lab(root: Path) -> Path:
    print(f"making a lab with the bundled recipes in {root} (about two minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "mlopslab", "demo", "--keep-running", str(root)], check=True,
                   capture_output=True)
    for args in MORE_RUNS:
        mlopslab(root, "run", *args)
    for args in BUDGETS:
        mlopslab(root, "budget", "set", *args)
    time.sleep(6)  # the service registers the weak run's model (breast-cancer @3), the alert rules run
    return root


def write(name: str, svg_text: str) -> None:
    svg = OUT / f"{name}.svg"
    svg.write_text(tidy(svg_text))
    png(svg)
    print(f"wrote {svg}", flush=True)


def tui_screens(root: Path) -> None:
    from mlopslab.lab import Lab
    from tests.tui.scenarios import play_sync

    lab = Lab(root)
    for shot in SHOTS:
        write(f"tui-{shot.name}", play_sync(lab, shot, clock=time.time, tz=None))


def cli_output(root: Path) -> None:
    from mlopslab.cli import output
    from mlopslab.client import LabClient
    from mlopslab.lab import Lab

    console = Console(record=True, width=120, force_terminal=True, color_system="truecolor",
                      highlight=False, file=open(os.devnull, "w"))  # noqa: SIM115
    output.console = console
    with LabClient(Lab(root)) as client:
        runs = client.runs.list(limit=20)
        console.print("[bold]$ mlopslab runs ls[/]")
        console.print(output.runs_table(runs, metric_keys=4))
        console.print(f"\n[bold]$ mlopslab runs show {runs[-1].id}[/]")
        output.run_detail(client.runs.get(run_id=runs[-1].id))
    write("runs-ls", console.export_svg(title="mlopslab"))


def main() -> None:
    args = sys.argv[1:]
    given = next((Path(args[i + 1]).resolve() for i, a in enumerate(args) if a in ("--keep", "--lab")), None)
    keep = given is not None
    root = given or Path(tempfile.mkdtemp(prefix="mlopslab-shots-")) / "lab"
    OUT.mkdir(exist_ok=True)
    if "--lab" not in args:
        make_lab(root)
    for recorded in OUT.glob("*-h100.svg"):
        write(recorded.stem, recorded.read_text())
    try:
        cli_output(root)
        tui_screens(root)
    finally:  # nothing left running: the demo's deployment, the service and Ray
        for args in (("undeploy", "breast-cancer"), ("lab", "stop")):
            subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(root), *args], capture_output=True)
        if not keep:
            shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
