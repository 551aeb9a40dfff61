"""What a new user meets in the first hour of the TUI (issue 10, item 17), each
against a real lab service: the launch form, the palette, one-value metrics, logical
GPUs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from mlopslab.monitor.gpu import NoGpus
from mlopslab.store.db import Store
from mlopslab.tui.screens.launch import LaunchScreen
from mlopslab.tui.screens.run_detail import RunDetailScreen
from mlopslab.tui.widgets.metric_chart import MetricChart, MetricView
from tests.conftest import configure
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import settle, text_of
from tests.tui.seed import seed_runs

pytestmark = pytest.mark.asyncio


async def open_launch_form(app: object, pilot: object) -> None:
    options = app.screen.query_one(OptionList)  # type: ignore[attr-defined]
    await until(pilot, lambda: options.option_count >= 2, what="recipes")
    options.highlighted = [options.get_option_at_index(i).id
                           for i in range(options.option_count)].index("tabular-classifier")
    await pilot.press("enter")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, LaunchScreen), what="the form")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_the_launch_form_takes_typing_at_once_and_says_why_a_value_is_refused(own_lab: Lab) -> None:
    app = make_app(own_lab, start="recipes")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_launch_form(app, pilot)
        await pilot.press("5", "0")  # no click, no tab: the first param has the focus
        assert isinstance(app.screen, LaunchScreen)
        assert app.screen.query_one("#param-n_estimators", Input).value == "50"
        seed = app.screen.query_one("#opt-seed", Input)
        seed.focus()
        seed.value = ""
        await pilot.press(*"abc")
        assert seed.value == "abc"  # kept, and said why it is refused
        assert "not a whole number" in text_of(app, "#opt-seed-hint")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)  # refused: nothing is submitted


async def test_the_palette_offers_every_action_of_the_app_and_the_screen(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Quit", "Help", "Go to Dashboard", "Go to Deployments", "Go to Models",
                      "Runs: Filter", "Runs: Sort", "Runs: Refresh", "Runs: Mark", "Runs: Open"):
            assert title in commands, sorted(commands)
        assert not [t for t in commands if "Focus" in t]  # Textual's own focus keys are no actions
        commands["Runs: Mark"].callback()
        await pilot.pause()
        assert len(app.screen.table.marked) == 1
        commands["Go to Queue"].callback()
        await pilot.pause()
        assert app.current_mode == "queue"


@pytest.fixture
def one_value_lab(tmp_path: Path) -> Iterator[tuple[Lab, str]]:
    """Seeded runs; the newest finished one logs accuracy once (as the bundled recipes
    do), its loss at every step."""
    lab = configure(init_lab(tmp_path / "lab", "demo", ray_address=""), ray={"num_gpus": 0})
    ids = seed_runs(lab.db_path, 8)
    store = Store(lab.db_path)
    try:
        run_id = next(i for i in ids if store.get_run(i).status == "finished")
        store.cursor().execute("DELETE FROM metrics WHERE run_id = ? AND key = 'accuracy' AND step < 4", [run_id])
    finally:
        store.close()
    yield lab, run_id
    daemon.stop(lab, stop_ray=False)


async def test_metrics_open_on_a_curve_and_show_a_one_value_metric_as_its_value(
        one_value_lab: tuple[Lab, str]) -> None:
    lab, run_id = one_value_lab
    app = make_app(lab, start="runs")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run_id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        await pilot.press("t", "t")  # the Metrics tab
        await settle(pilot, app)
        view = app.screen.query_one(MetricView)
        chart = view.query_one(MetricChart)
        assert chart.display and "loss" in str(chart.plt._active.monitor.title)  # the series with steps
        await pilot.press("m")
        await pilot.pause()
        assert not chart.display
        value = text_of(app, "#run-chart .metric-value")
        assert "accuracy" in value and "one value" in value


async def test_the_gpus_screen_says_the_clusters_gpus_are_logical(tmp_path: Path) -> None:
    lab = configure(init_lab(tmp_path / "lab", "demo", ray_address=""), ray={"num_gpus": 2})
    try:
        app = make_app(lab, start="gpus", gpu_source=NoGpus())
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "logical" in text_of(app, "#gpus"), what="logical GPUs")
            text = text_of(app, "#gpus")
            assert "2 logical GPUs" in text and "No GPUs." not in text
    finally:
        daemon.stop(lab, stop_ray=False)
