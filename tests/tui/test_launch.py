"""Launch a recipe from the TUI and watch it finish: real service, real Ray."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Log, OptionList

from mlopslab.lab import Lab
from mlopslab.tui.screens.launch import LaunchScreen
from mlopslab.tui.screens.recipes import RecipesScreen
from mlopslab.tui.screens.run_detail import RunDetailScreen
from mlopslab.tui.screens.runs import RunsScreen
from tests.tui.conftest import make_app, until

pytestmark = [pytest.mark.asyncio, pytest.mark.ray, pytest.mark.slow]


async def test_launch_a_recipe_and_follow_it_to_the_end(lab: Lab) -> None:
    app = make_app(lab, start="recipes")
    app.poll_s = 0.5  # follow the run live, as a user sees it
    async with app.run_test(size=(100, 36)) as pilot:
        options = app.screen.query_one(OptionList)
        await until(pilot, lambda: options.option_count >= 2, what="recipes")
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = names.index("tabular-classifier")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        box = app.screen.query_one("#param-n_estimators", Input)
        box.value = "20"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None,
                    timeout=60, what="the new run")
        screen = app.screen
        assert screen.run.params["n_estimators"] == 20
        await until(pilot, lambda: screen.run.status in ("finished", "failed"), timeout=180, what="the end")
        await pilot.pause(1.5)
        assert screen.run.status == "finished", screen.run.error
        assert screen.run.metrics["accuracy"] > 0.85
        assert screen.query_one(Log).line_count > 0
        assert any(a.path == "model.onnx" for a in screen.run.artifacts or ())
        assert app.current_mode == "runs"  # the run opens on Runs; the recipe list stays on 4
        await pilot.press("4")
        assert isinstance(app.screen, RecipesScreen)
        await pilot.press("2")
        assert screen is app.screen
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
