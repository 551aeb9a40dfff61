"""TUI fixtures: a real lab with seeded runs and its real service, the app built by
the same factory `mlopslab tui` uses, a fixed clock and replayed GPU samples."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from mlopslab.monitor.gpu import ReplaySource
from mlopslab.tui.app import LabApp, build_app
from tests.conftest import configure
from tests.tui.seed import NOW, seed_runs

RECORDING = Path(__file__).resolve().parents[2] / "mlopslab" / "monitor" / "recordings" / "demo-2gpu.jsonl"
SNAPSHOTS = Path(__file__).parent / "__snapshots__"


class StepClock:
    """A replay clock that moves half a second each time it is read (`step` 0: stands)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.step = 0.5

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def make_seeded_lab(root: Path, n: int) -> Lab:
    # no GPUs, whatever the machine has: the seeded 1-GPU runs stay queued, with one reason
    lab = configure(init_lab(root, "demo", ray_address=""), ray={"num_gpus": 0})
    seed_runs(lab.db_path, n)
    return lab


@pytest.fixture(scope="module")
def seeded_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """500 seeded runs; its service is shared by a module's read-only tests."""
    lab = make_seeded_lab(tmp_path_factory.mktemp("tui") / "lab", 500)
    yield lab
    daemon.stop(lab, stop_ray=False)


@pytest.fixture
def own_lab(tmp_path: Path) -> Iterator[Lab]:
    """A small seeded lab of its own, for tests that change runs."""
    lab = make_seeded_lab(tmp_path / "lab", 40)
    yield lab
    daemon.stop(lab, stop_ray=False)


def make_app(lab: Lab, start: str = "dashboard", history: int = 40, gpu_source: Any = None,
             **options: Any) -> LabApp:
    """The app as `mlopslab tui --demo-gpus` builds it, with time and GPU samples pinned."""
    replay_clock = StepClock()
    source = gpu_source or ReplaySource(RECORDING, clock=replay_clock)
    pinned: dict[str, Any] = {"clock": lambda: NOW, "tz": UTC, "poll_s": 0, "gpu_poll_s": 0}
    app = build_app(lab, gpu_source=source, start=start, **(pinned | options))
    if gpu_source is None:
        for _ in range(history):
            app.gpu_history.add(source.sample())
        # the app's own samples all read one fixed frame, however many a screen takes
        replay_clock.t, replay_clock.step = 0.5, 0.0
    return app


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Let the app work until `check()` holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or check}")
        await pilot.pause(0.05)


Wait = Callable[[Any, Callable[[], bool]], Awaitable[None]]
