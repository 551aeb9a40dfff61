"""The shell and the other screens, against a real lab service."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, OptionList

from mlopslab.lab import Lab
from mlopslab.monitor.gpu import NoGpus
from mlopslab.tui.app import build_app
from mlopslab.tui.screens.dashboard import DashboardScreen
from mlopslab.tui.screens.gpus import GpusScreen
from mlopslab.tui.screens.help import HelpScreen
from mlopslab.tui.screens.launch import LaunchScreen
from mlopslab.tui.screens.queue import QueueScreen
from mlopslab.tui.screens.recipes import RecipesScreen
from mlopslab.tui.screens.runs import RunsScreen
from mlopslab.tui.widgets.lab_header import LabHeader
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import text_of

pytestmark = pytest.mark.asyncio


async def test_number_keys_reach_every_screen_and_q_quits(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, screen in (("2", RunsScreen), ("3", QueueScreen), ("4", RecipesScreen),
                            ("5", GpusScreen), ("1", DashboardScreen)):
            await pilot.press(key)
            assert isinstance(app.screen, screen)
        await until(pilot, lambda: app.status is not None, what="service status")
        header = app.screen.query_one(LabHeader)
        assert header.lab_name == "demo" and "● service" in str(header.render())
        await pilot.press("q")
    assert app.return_code == 0


async def test_help_lists_the_keys_of_the_screen(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = app.export_screenshot().replace("&#160;", " ")
        for words in ("Filter", "Sort", "Compare", "Mark", "Quit", "Runs: keys", "ctrl+p"):
            assert words in shown
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_command_palette_offers_every_screen(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab)
    async with app.run_test(size=(80, 24)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for name in ("Runs", "Queue", "Recipes", "GPUs", "Dashboard"):
            assert f"Go to {name}" in titles


async def test_dashboard_shows_gpus_active_and_latest_runs(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: "finished" in text_of(app, "#dash-counts"), what="counts")
        # the panel grows to both GPUs once its layout is refreshed after the first reading
        await until(pilot, lambda: "GPU 1" in text_of(app, "#dash-gpus"), what="both GPUs")
        assert "GPU 0" in text_of(app, "#dash-gpus")
        assert "active runs (3)" in text_of(app, "#dash-active")
        assert "latest runs" in text_of(app, "#dash-recent")
        await until(pilot, lambda: "alerts: none open" in text_of(app, "#dash-today"),
                    what="today's cost and alerts")
        assert "today: " in text_of(app, "#dash-today")


async def test_queue_lists_waiting_runs_with_reasons_and_cancels(own_lab: Lab) -> None:
    app = make_app(own_lab, start="queue")
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 3, what="three queued runs")
        reasons = [str(table.get_row_at(i)[-1]) for i in range(3)]
        assert all(r.strip() for r in reasons), reasons
        victim = str(table.get_row_at(0)[0])
        await pilot.press("x")
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 2, what="cancelled run gone")
        assert victim not in [str(table.get_row_at(i)[0]) for i in range(2)]
        assert app.backend.client.runs.get(victim).status == "cancelled"


async def test_gpu_screen_shows_devices_processes_and_owners(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="gpus")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "GPU 1" in text_of(app, "#gpus"), what="GPU panel")
        text = text_of(app, "#gpus")
        assert "NVIDIA H100" in text and "4242" in text and "processes" in text


async def test_gpu_screen_says_plainly_when_there_are_no_gpus(seeded_lab: Lab) -> None:
    app = build_app(seeded_lab, gpu_source=NoGpus(), poll_s=0, gpu_poll_s=0, start="gpus")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "No GPUs" in text_of(app, "#gpus"), what="no GPUs")


async def test_recipes_and_the_launch_form_check_params_as_you_type(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="recipes")
    async with app.run_test(size=(100, 36)) as pilot:
        options = app.screen.query_one(OptionList)
        await until(pilot, lambda: options.option_count >= 2, what="recipes")
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert {"tabular-classifier", "mlp-digits"} <= set(names)
        options.highlighted = names.index("tabular-classifier")
        await pilot.pause()
        assert "n_estimators" in text_of(app, "#recipe-info")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        box = app.screen.query_one("#param-n_estimators", Input)
        box.focus()
        box.value = ""
        await pilot.press(*"abc")
        assert "✗" in text_of(app, "#param-n_estimators-hint")
        box.value = ""
        await pilot.press(*"100000000")
        assert "above the maximum" in text_of(app, "#param-n_estimators-hint")
        await pilot.press("ctrl+s")  # refused: nothing is submitted
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        box.value = ""
        await pilot.press(*"30")
        assert "✓" in text_of(app, "#param-n_estimators-hint")
        time_limit = app.screen.query_one("#res-time", Input)
        time_limit.focus()
        await pilot.press(*"soon")
        assert "✗" in text_of(app, "#res-time-hint")
