"""The Deployments screen over a real lab service and a real deployment: it shows the
versions and health, and `b` + `y` rolls back through the service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from mlopslab.client import daemon
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.process import ProcessBackend
from mlopslab.lab import Lab, init_lab
from mlopslab.tui.app import build_app
from mlopslab.tui.screens.deployments import DeploymentsScreen

pytestmark = pytest.mark.asyncio


@pytest.fixture
def deployed(tmp_path: Path, models: dict[str, Path]) -> Iterator[tuple[Lab, Deployments]]:
    lab = init_lab(tmp_path / "lab", "tui")
    deployments = Deployments(lab.root / "deployments", {"process": ProcessBackend()})
    deployments.deploy("iris", models["v1"], "iris", "1")
    deployments.deploy("iris", models["v2"], "iris", "2")
    yield lab, deployments
    deployments.undeploy("iris")
    daemon.stop(lab, stop_ray=False)


async def _until(pilot: Any, check: Any, timeout: float = 20) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < end, "timed out"
        await pilot.pause(0.05)


async def test_the_screen_shows_versions_and_b_rolls_back(deployed: tuple[Lab, Deployments]) -> None:
    lab, deployments = deployed
    app = build_app(lab, poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(120, 30)) as pilot:
        app.push_screen(DeploymentsScreen())
        await _until(pilot, lambda: isinstance(app.screen, DeploymentsScreen)
                     and any(t.row_count == 1 for t in app.screen.query(DataTable)))
        table = app.screen.query_one(DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:5] == ["iris", deployments.show("iris").endpoint, "watching", "2", "1"]  # v2 is watched
        await pilot.press("b")
        await pilot.press("y")
        await _until(pilot, lambda: [str(c) for c in table.get_row_at(0)][3:5] == ["1", "2"])
    assert deployments.show("iris").active_version == "1"


async def test_at_80x24_the_stable_endpoint_shows_whole_and_replicas_are_marked_internal(
        deployed: tuple[Lab, Deployments]) -> None:
    from textual.widgets import Static

    lab, deployments = deployed
    shown = deployments.show("iris")
    app = build_app(lab, poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DeploymentsScreen())
        await _until(pilot, lambda: isinstance(app.screen, DeploymentsScreen)
                     and any(t.row_count == 1 for t in app.screen.query(DataTable)))
        await pilot.pause(0.2)
        table = app.screen.query_one(DataTable)
        seen = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert shown.endpoint in seen, seen  # in full, without scrolling
        detail = app.screen.query_one("#deployment-detail", Static)
        text = "\n".join(detail.render_line(y).text for y in range(detail.size.height))
        assert shown.endpoint in text, text
        for r in shown.replicas:
            line = next(line for line in text.splitlines() if r.url in line)
            assert "internal" in line, text


async def test_the_dashboard_lists_deployments_with_their_health(deployed: tuple[Lab, Deployments]) -> None:
    from textual.widgets import Static

    lab, _ = deployed
    app = build_app(lab, poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(120, 30)) as pilot:
        block = app.screen.query_one("#dash-deployments", Static)

        def shown() -> str:
            return "\n".join(block.render_line(y).text for y in range(block.size.height))

        await _until(pilot, lambda: "iris@2" in shown())
        assert "deployments (1)" in shown() and "watching" in shown() and "127.0.0.1:" in shown()
