"""Screens stay fresh however long the TUI runs, even when one service call is slow."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from mlopslab.client import groups
from mlopslab.lab import Lab
from mlopslab.tui.screens.dashboard import DashboardScreen
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import text_of
from tests.tui.seed import NOW

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


async def test_dashboard_stays_fresh_after_a_tour_while_a_call_hangs(seeded_lab: Lab,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a machine with few cores: Textual's worker threads are min(32, CPUs + 4)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(6))
    release = threading.Event()
    clock = Clock()
    app = make_app(seeded_lab, poll_s=0.2, gpu_poll_s=0.2, clock=clock)
    real_list = groups.Deployments.list

    def hanging(self: groups.Deployments) -> groups.DeploymentRows:  # a gateway that does not answer
        release.wait(20)
        return real_list(self)

    monkeypatch.setattr(groups.Deployments, "list", hanging)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "latest runs" in text_of(app, "#dash-recent"), what="dashboard")
            for key in "2345671":  # a tour of every screen, back to the dashboard
                await pilot.press(key)
                await pilot.pause(0.6)
            assert isinstance(app.screen, DashboardScreen)
            before = text_of(app, "#dash-recent")
            clock.t += 25 * 60
            later = datetime.fromtimestamp(clock.t, UTC).strftime("%H:%M")
            await until(pilot, lambda: later in str(app.screen.query_one("LabHeader").render()),
                        timeout=3, what=f"the header clock at {later}")
            await until(pilot, lambda: text_of(app, "#dash-recent") != before, timeout=3,
                        what="the latest runs again")
    finally:
        release.set()
