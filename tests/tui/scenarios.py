"""Every screen in a known state: the snapshot tests and scripts/screenshots.py
drive the app through these same key sequences over the same seeded lab."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlopslab.lab import Lab
from tests.tui.conftest import SNAPSHOTS, make_app


@dataclass(frozen=True)
class Scenario:
    name: str
    start: str
    keys: tuple[str, ...] = ()
    size: tuple[int, int] = (80, 24)
    gpus: bool = True


SCENARIOS = [
    Scenario("dashboard", "dashboard", size=(100, 30)),
    Scenario("runs", "runs"),
    Scenario("runs-wide", "runs", ("down", "down", "space", "down", "space"), size=(160, 48)),
    Scenario("runs-filter-problem", "runs", ("slash", *"metrics.accuracy >")),
    Scenario("run-detail", "runs", ("down", "down", "down", "enter"), size=(100, 30)),
    Scenario("run-metrics", "runs", ("down", "down", "down", "enter", "t", "t"), size=(100, 30)),
    Scenario("compare", "runs", ("down", "down", "down", "space", "space", "space", "c"), size=(120, 36)),
    Scenario("queue", "queue", size=(100, 24)),
    Scenario("gpus", "gpus", size=(100, 30)),
    Scenario("gpus-none", "gpus", gpus=False),
    Scenario("recipes", "recipes", size=(100, 30)),
    Scenario("launch", "recipes", ("enter", "tab", "backspace", "backspace", "backspace", "x"), size=(100, 30)),
    Scenario("help", "runs", ("question_mark",)),
]

# over the seeded registry of tests/tui/seed_models.py (Models screen, key 6)
MODEL_SCENARIOS = [
    Scenario("models", "models"),
    Scenario("model-version", "models", ("enter", "down", "enter"), size=(100, 36)),
    Scenario("model-version-80x24", "models", ("enter", "down", "enter")),
    Scenario("model-lineage", "models", ("enter", "down", "down", "l"), size=(100, 24)),
    Scenario("model-promote-confirm", "models", ("enter", "p")),
    Scenario("model-promote-refused", "models", ("enter", "down", "p", "y"), size=(100, 30)),
    Scenario("model-promote-reason", "models", ("enter", "down", "p", "y", "f", *"hotfix"), size=(100, 30)),
]

# over the monitor's findings of tests/tui/seed_monitor.py (alerts, cost, budgets, GPU history)
MONITOR_SCENARIOS = [
    Scenario("alerts", "alerts", size=(120, 36)),
    Scenario("alerts-80x24", "alerts"),
    Scenario("alerts-resolved", "alerts", ("h", "down", "down", "down", "down"), size=(100, 30)),
    Scenario("cost", "cost", size=(120, 36)),
    Scenario("cost-80x24", "cost"),
    Scenario("cost-by-run", "cost", ("b", "b"), size=(100, 30)),
    Scenario("gpus-monitor", "gpus", size=(120, 36)),
    Scenario("gpus-monitor-80x24", "gpus"),
]


async def settle(pilot: Any, app: Any, quiet: int = 4) -> None:
    """Wait until no worker has run for `quiet` checks in a row (all data shown)."""
    calm = 0
    for _ in range(400):
        await pilot.pause(0.05)
        busy = any(not w.is_finished for w in app.workers)
        calm = 0 if busy else calm + 1
        if calm >= quiet:
            return


async def play(lab: Lab, scenario: Scenario, **options: Any) -> str:
    """Run `scenario`; return the SVG screenshot. `options` go to `make_app` (a clock...)."""
    from mlopslab.monitor.gpu import NoGpus

    if not scenario.gpus:
        options["gpu_source"] = NoGpus()
    app = make_app(lab, start=scenario.start, **options)
    async with app.run_test(size=scenario.size) as pilot:
        await settle(pilot, app)
        for key in scenario.keys:
            await pilot.press(key)
            await settle(pilot, app, quiet=2)
        await settle(pilot, app)
        return app.export_screenshot(title=f"mlopslab · {scenario.name}")


def play_sync(lab: Lab, scenario: Scenario, **options: Any) -> str:
    return asyncio.run(play(lab, scenario, **options))


UPDATE_SNAPSHOTS = "MLOPSLAB_UPDATE_SNAPSHOTS"
"""Set to 1 to record the snapshots instead of comparing with them."""


def check_snapshot(name: str, svg: str, tmp_path: Path, snapshots: Path = SNAPSHOTS) -> None:
    """Compare `svg` with the recorded `snapshots/<name>.svg`.

    A missing snapshot fails like a different one (a new scenario is not recorded by
    running it); only MLOPSLAB_UPDATE_SNAPSHOTS=1 records, after an intended change."""
    expected = snapshots / f"{name}.svg"
    if os.environ.get(UPDATE_SNAPSHOTS) == "1":
        snapshots.mkdir(exist_ok=True)
        expected.write_text(svg, encoding="utf-8", newline="\n")
        return
    if expected.exists() and svg == expected.read_text(encoding="utf-8"):
        return
    actual = tmp_path / f"{name}.actual.svg"
    actual.write_text(svg, encoding="utf-8", newline="\n")
    if not expected.exists():
        pytest.fail(f"{name} has no snapshot {expected}: look at {actual}, then record it "
                    f"with {UPDATE_SNAPSHOTS}=1")
    pytest.fail(f"{name} looks different: compare {actual} with {expected}")


def text_of(app: Any, selector: str) -> str:
    """What the widget shows on screen, line by line."""
    widget = app.screen.query_one(selector)
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))
