"""The Models screens against a real lab service.

Two labs: a seeded registry (fixed facts, tests/tui/seed_models.py) for the looks
(snapshots) and quick checks, and a lab with three real runs of the bundled
tabular recipe on the session's Ray cluster, where the gates really run in ONNX
Runtime when the TUI promotes. The real-run tests run in file order and share
that lab's state (each says what it relies on).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, OptionList

from mlopslab.client import daemon
from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab
from mlopslab.tui.app import LabApp
from mlopslab.tui.screens.confirm import ConfirmModal
from mlopslab.tui.screens.lineage import LineageScreen
from mlopslab.tui.screens.model_detail import ModelVersionScreen
from mlopslab.tui.screens.models import ModelsScreen
from mlopslab.tui.screens.promote import ReasonModal, RefusedModal
from tests.conftest import mlopslab_json, module_lab
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import MODEL_SCENARIOS, Scenario, check_snapshot, play, text_of
from tests.tui.seed_models import NAME, make_models_lab

pytestmark = pytest.mark.asyncio
RECIPE = "recipes/tabular-classifier"


def options_text(app: LabApp) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def open_models(app: LabApp, pilot: Any, versions: int) -> DataTable[Any]:
    await pilot.press("6")
    assert isinstance(app.screen, ModelsScreen)
    table = app.screen.query_one("#model-versions", DataTable)
    await until(pilot, lambda: table.row_count == versions, what=f"{versions} versions")
    await pilot.press("enter")  # from the model list into its versions
    return table


async def pick(pilot: Any, table: DataTable[Any], version: int) -> None:
    keys = [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]
    table.move_cursor(row=keys.index(str(version)))
    await pilot.pause()


# a seeded registry: looks and quick checks -----------------------------------


@pytest.fixture(scope="module")
def registry_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = make_models_lab(tmp_path_factory.mktemp("models") / "lab")
    yield lab
    daemon.stop(lab, stop_ray=False)


@pytest.fixture
def own_registry_lab(tmp_path: Path) -> Iterator[Lab]:
    lab = make_models_lab(tmp_path / "lab")
    yield lab
    daemon.stop(lab, stop_ray=False)


@pytest.mark.parametrize("scenario", MODEL_SCENARIOS, ids=[s.name for s in MODEL_SCENARIOS])
async def test_models_screens_look_as_recorded(registry_lab: Lab, scenario: Scenario, tmp_path: Path) -> None:
    check_snapshot(scenario.name, await play(registry_lab, scenario), tmp_path)


async def test_versions_show_aliases_and_gate_status_and_the_palette_offers_models(registry_lab: Lab) -> None:
    app = make_app(registry_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Go to Models" in [c.title for c in app.get_system_commands(app.screen)]
        table = await open_models(app, pilot, 4)
        rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(4)]
        assert rows[0].startswith("@4 0.958 ✓ passed candidate")  # the score, the gate, then aliases
        assert rows[1].startswith("@3 0.888 ✗ failed —")
        assert "★ champion" in rows[2] and "@2" in rows[2]
        assert "champion @2" in text_of(app, "#model-summary")
        await pilot.press("question_mark")
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "Models: keys" in shown and "Promote" in shown and "Lineage" in shown


async def test_refused_then_forced_promotion_with_a_reason(own_registry_lab: Lab) -> None:
    """@3's latest report failed against today's champion: refused without re-gating."""
    app = make_app(own_registry_lab, start="models")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#model-versions", DataTable)
        await until(pilot, lambda: table.row_count == 4, what="versions")
        await pilot.press("enter")
        await pick(pilot, table, 3)
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # no: nothing happens
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("p", "y")
        await until(pilot, lambda: isinstance(app.screen, RefusedModal), what="refusal")
        assert "regression.accuracy:vs_champion" in text_of(app, "#refused-checks")
        await pilot.press("f")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # an empty reason is not accepted
        assert isinstance(app.screen, ReasonModal) and "reason is required" in text_of(app, "#reason-hint")
        await pilot.press(*"incident 42", "enter")
        await until(pilot, lambda: "★ champion" in str(table.get_row_at(1)[3]), what="champion moved")
        assert app.backend.client.models.list()[0].aliases["champion"] == 3
        last = app.backend.client.models.alias_history(name=NAME, alias="champion").history[-1]
        assert (last.from_version, last.to_version, last.forced) == (2, 3, True)
        assert last.reason == "incident 42" and last.actor


async def test_lineage_walks_up_to_the_data_and_back_down(registry_lab: Lab) -> None:
    app = make_app(registry_lab, start="models")
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one("#model-versions", DataTable)
        await until(pilot, lambda: table.row_count == 4, what="versions")
        await pilot.press("enter")
        await pick(pilot, table, 2)
        await pilot.press("l")
        assert isinstance(app.screen, LineageScreen)
        await until(pilot, lambda: app.screen.graph is not None, what="lineage")  # type: ignore[attr-defined]
        lines = options_text(app)
        assert any(line.lstrip().startswith("data") for line in lines[:lines.index(next(
            line for line in lines if line.startswith("● model")))])
        assert any("gate" in line and "passed" in line for line in lines)
        options = app.screen.query_one(OptionList)
        options.highlighted = next(i for i, line in enumerate(lines) if "input of" in line)
        await pilot.press("enter")  # walk up to the training data
        await until(pilot, lambda: app.screen.graph.node.kind == "data", what="data node")  # type: ignore[attr-defined]
        await until(pilot, lambda: any("breast-cancer@2" in line for line in options_text(app)), what="down")
        assert sum("input of" in line for line in options_text(app)) == 4  # the four runs on it
        await pilot.press("backspace")
        await until(pilot, lambda: app.screen.graph.node.ref == f"model:{NAME}@2",  # type: ignore[attr-defined]
                    what="walked back")


# three real runs: the gates really run -----------------------------------------


@pytest.fixture(scope="module")
def real_lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    yield from module_lab(tmp_path_factory, ray_cluster, "models-real")


@pytest.fixture(scope="module")
def versions(real_lab: Lab) -> dict[str, int]:
    """weak, good (the recipe's defaults), worse: their version numbers."""
    found = {}
    for key, sets in (("weak", ("n_estimators=5", "max_depth=2")), ("good", ()),
                      ("worse", ("n_estimators=1", "max_depth=1"))):
        run = mlopslab_json(real_lab, "run", RECIPE, *(a for s in sets for a in ("--set", s)))
        assert run["status"] == "finished", run
        found[key] = mlopslab_json(real_lab, "models", "register", run["id"], "--name", NAME)["version"]
    return found


def champion(app: LabApp) -> int | None:
    return {m.name: m for m in app.backend.client.models.list()}[NAME].aliases.get("champion")


async def promote_in_tui(app: LabApp, pilot: Any, table: DataTable[Any], version: int) -> None:
    await pick(pilot, table, version)
    await pilot.press("p")
    assert isinstance(app.screen, ConfirmModal)
    await pilot.press("y")


@pytest.mark.ray
async def test_passing_candidates_become_champion(real_lab: Lab, versions: dict[str, int]) -> None:
    app = make_app(real_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_models(app, pilot, 3)
        await promote_in_tui(app, pilot, table, versions["weak"])  # no champion: nothing to regress from
        await until(pilot, lambda: champion(app) == versions["weak"], timeout=60, what="weak promoted")
        await promote_in_tui(app, pilot, table, versions["good"])  # the gates run against weak and pass
        await until(pilot, lambda: champion(app) == versions["good"], timeout=60, what="good promoted")
        await until(pilot, lambda: "★ champion" in " ".join(str(table.get_row_at(i)[3]) for i in range(3)))
        report = app.backend.client.models.version(ref=f"{NAME}@{versions['good']}").latest_report
        assert report is not None and report.passed and report.champion_version == versions["weak"]


@pytest.mark.ray
async def test_a_worse_candidate_is_refused_naming_the_failing_check(
        real_lab: Lab, versions: dict[str, int]) -> None:
    app = make_app(real_lab, start="models")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#model-versions", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="versions")
        await pilot.press("enter")
        await promote_in_tui(app, pilot, table, versions["worse"])
        await until(pilot, lambda: isinstance(app.screen, RefusedModal), timeout=60, what="refusal")
        assert "regression.accuracy:vs_champion" in text_of(app, "#refused-checks")
        assert champion(app) == versions["good"]  # from the test above
        await pilot.press("escape")
        assert isinstance(app.screen, ModelsScreen)


@pytest.mark.ray
async def test_a_version_shows_its_gate_report_beside_the_champions(
        real_lab: Lab, versions: dict[str, int]) -> None:
    app = make_app(real_lab, start="models")
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.screen.query_one("#model-versions", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="versions")
        await pilot.press("enter")
        await pick(pilot, table, versions["worse"])
        await pilot.press("enter")
        assert isinstance(app.screen, ModelVersionScreen)
        await until(pilot, lambda: "champion @" in text_of(app, "#version-compare"), what="comparison")
        shown = text_of(app, "#version-compare")
        assert f"@{versions['worse']}" in shown and f"champion @{versions['good']}" in shown
        row = next(line for line in shown.splitlines() if "accuracy:vs_champion" in line)
        assert "✗" in row and "✓" in row  # failed for this one, passed for the champion
        assert "✗ FAILED" in shown and "✓ passed" in shown


@pytest.mark.ray
async def test_forced_promotion_asks_for_a_reason_and_is_recorded(
        real_lab: Lab, versions: dict[str, int]) -> None:
    app = make_app(real_lab, start="models")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#model-versions", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="versions")
        await pilot.press("enter")
        await promote_in_tui(app, pilot, table, versions["worse"])
        await until(pilot, lambda: isinstance(app.screen, RefusedModal), timeout=60, what="refusal")
        await pilot.press("f")
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonModal)
        reason = app.screen.query_one(Input)
        await pilot.press(*"rollback drill")
        assert reason.value == "rollback drill"
        await pilot.press("enter")
        await until(pilot, lambda: champion(app) == versions["worse"], timeout=30, what="forced")
        last = app.backend.client.models.alias_history(name=NAME, alias="champion").history[-1]
        assert last.forced and last.reason == "rollback drill" and last.report_id
        assert (last.from_version, last.to_version) == (versions["good"], versions["worse"])


@pytest.mark.ray
async def test_lineage_from_a_real_version_to_its_data_and_back(real_lab: Lab, versions: dict[str, int]) -> None:
    app = make_app(real_lab)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("6")
        app.push_screen(LineageScreen(f"model:{NAME}@{versions['good']}"))
        screen = app.screen
        await until(pilot, lambda: getattr(app.screen, "graph", None) is not None, what="lineage")
        graph = app.screen.graph  # type: ignore[attr-defined]
        up = {n.ref for n in graph.upstream.nodes}
        run_ref = next(r for r in up if r.startswith("run:"))
        assert any(r.startswith("data:sha256:") for r in up)
        assert any(n.ref.startswith("gate:") for n in graph.downstream.nodes)
        lines = options_text(app)
        options = app.screen.query_one(OptionList)
        options.highlighted = next(i for i, line in enumerate(lines) if run_ref.split(":")[1] in line
                                   and line.lstrip().startswith("run"))
        await pilot.press("enter")  # walk to the run: its model is downstream
        await until(pilot, lambda: screen.graph.node.ref == run_ref, what="run node")  # type: ignore[attr-defined]
        await until(pilot, lambda: any(f"{NAME}@{versions['good']}" in line for line in options_text(app)))
