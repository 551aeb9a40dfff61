"""Every screen at 80x24, the smallest terminal the TUI supports: nothing that matters
is cut. Column headers and the primary metric show without scrolling, every key the
footer offers is legible in full, params and their help read whole, and words never
run into each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Footer, OptionList

from mlopslab.client import daemon
from mlopslab.lab import Lab
from mlopslab.tui.app import LabApp
from mlopslab.tui.screens.base import LabScreen
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import settle, text_of
from tests.tui.seed_models import make_models_lab

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def registry_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Seeded runs of the bundled recipes, a registry and two deployments (one undeployed)."""
    lab = make_models_lab(tmp_path_factory.mktemp("fit") / "lab")
    yield lab
    daemon.stop(lab, stop_ray=False)


def screen_text(app: LabApp) -> str:
    return app.export_screenshot().replace("&#160;", " ")


def lines(app: LabApp) -> list[str]:
    """The screen as text, one line per terminal row (the compositor's own render)."""
    size = app.size
    update = app.screen._compositor.render_full_update()
    return ["".join(strip.text for strip in line).ljust(size.width) for line in update.strips]


def footer_problems(app: LabApp) -> list[str]:
    """The keys the footer should show but cuts (each `key description` must read whole).
    A dialog has no footer of its own: the screen under it keeps its footer."""
    if not isinstance(app.screen, LabScreen):
        return []
    footer = lines(app)[-1]
    wanted = [b.binding.description for b in app.screen.active_bindings.values()
              if b.binding.show and b.binding.description]
    cut = [w for w in wanted if f" {w}" not in f" {footer} "]
    return cut + ([] if "palette" in footer else ["^p palette"])


async def visit(app: LabApp, pilot: Any, *keys: str) -> list[str]:
    for key in keys:
        await pilot.press(key)
        await settle(pilot, app, quiet=3)
    await settle(pilot, app, quiet=2)
    shown = lines(app)
    assert not footer_problems(app), (footer_problems(app), shown[-1])
    return shown


async def test_every_screen_fits_80x24(registry_lab: Lab) -> None:
    app = make_app(registry_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        text = "\n".join(await visit(app, pilot))
        assert "latest runs" in text and "later capability" not in text
        recent = text_of(app, "#dash-recent")
        assert "accuracy 0." in recent  # whole metrics: a number is never cut
        assert not [line for line in recent.splitlines() if line.rstrip().endswith("…")], recent

        rows = await visit(app, pilot, "2")
        header = rows[2]
        for title in ("id", "status", "accuracy", "recipe", "created"):
            assert f" {title} " in f" {header} ", header  # the primary metric without scrolling

        run = "\n".join(await visit(app, pilot, "enter"))
        assert "Overview" in run and "Metrics" in run
        await visit(app, pilot, "escape", "down", "down", "down", "space", "space")
        compare = "\n".join(await visit(app, pilot, "c"))
        assert "metrics.accuracy" in compare and "params.lr" in compare
        keys = "\n".join(await visit(app, pilot, "escape", "question_mark"))
        assert "Runs: keys" in keys and "Compare" in keys
        queue = await visit(app, pilot, "escape", "escape", "3")
        for title in ("id", "status", "waiting", "gpus", "prio", "recipe"):
            assert f" {title} " in f" {queue[2]} ", queue[2]
        assert "it asks for 1 GPU but the cluster has 0" in " ".join(" ".join(queue).split())  # whole
        await visit(app, pilot, "4")
        options = app.screen.query_one(OptionList)
        options.highlighted = [options.get_option_at_index(i).id
                               for i in range(options.option_count)].index("tabular-classifier")
        recipe = "\n".join(await visit(app, pilot))
        assert "n_estimators" in recipe and "range / choices" in recipe
        assert "Trees in the forest" in recipe  # help reads whole, not one word a line

        launch = "\n".join(await visit(app, pilot, "enter"))
        assert "n_estimators" in launch and "Trees in the forest" in launch
        await visit(app, pilot, "escape", "5")

        models = "\n".join(await visit(app, pilot, "6"))
        assert "★ champion" in models and "accuracy" in models
        options = app.screen.query_one("#model-list", OptionList)
        options.highlighted = [options.get_option_at_index(i).id
                               for i in range(options.option_count)].index("churn")
        await until(pilot, lambda: "not gated" in screen_text(app), what="churn's versions")
        assert "not gated" in "\n".join(lines(app))  # whole, not `– not gate`

        options.highlighted = [options.get_option_at_index(i).id
                               for i in range(options.option_count)].index("breast-cancer")
        await settle(pilot, app)
        await visit(app, pilot, "enter", "down", "down")  # @2, the champion, deployed twice
        lineage = "\n".join(await visit(app, pilot, "l"))
        assert "deployment breast-cancer" in lineage and "deployment bc-trial" in lineage
        trial = next(line for line in lineage.splitlines() if "bc-trial" in line)
        assert "undeployed" in trial and "8701" not in trial  # not listed as live
        live = next(line for line in lineage.splitlines() if "deployment breast-cancer" in line)
        assert "serving" in live

        version = "\n".join(await visit(app, pilot, "escape", "enter"))
        assert "accuracy" in version
        await visit(app, pilot, "escape", "7")
        assert isinstance(app.screen.query_one(Footer), Footer)
