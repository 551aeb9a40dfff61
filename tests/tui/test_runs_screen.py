"""The runs screen against a real lab service over seeded runs: windowed paging,
filter, sort, columns, marks, compare and opening a run."""

from __future__ import annotations

import pytest

from mlopslab.lab import Lab
from mlopslab.tui.screens.compare import CompareScreen
from mlopslab.tui.screens.run_detail import RunDetailScreen
from mlopslab.tui.screens.runs import RunsScreen
from mlopslab.tui.widgets.runs_table import RunsTable
from tests.tui.conftest import make_app, until

pytestmark = pytest.mark.asyncio


def table_of(app) -> RunsTable:  # type: ignore[no-untyped-def]
    return app.screen.query_one(RunsTable)


async def open_runs(app, pilot) -> RunsTable:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
    table = table_of(app)
    await until(pilot, lambda: table.total > 0 and table.loaded, what="first page")
    return table


async def test_pages_through_all_runs_newest_first(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        assert table.total == 500
        first = table.row(0)
        assert first is not None and first.id.startswith("261120-115900")
        await pilot.press("pagedown", "pagedown")
        assert table.cursor == 2 * table.body_height
        await pilot.press("end")
        await until(pilot, lambda: table.current is not None, what="last page")
        assert table.cursor == 499
        last = table.current
        assert last is not None and last.created_at < first.created_at
        assert "500 of 500 runs" in str(app.screen.query_one("#runs-status").render())
        await pilot.press("home", "down", "down")
        assert table.cursor == 2 and table.current.id == table.row(2).id


async def test_filter_is_checked_as_you_type_and_applied_on_enter(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        await pilot.press("slash", *"status = ")
        problem = app.screen.query_one("#filter-problem")
        assert problem.display and "✗" in str(problem.render())
        await pilot.press(*"'finished' and metrics.accuracy > 0.9")
        assert not problem.display
        await pilot.press("enter")
        await until(pilot, lambda: 0 < table.total < 500 and table.loaded, what="filtered rows")
        shown = [table.row(i) for i in range(min(table.total, table.body_height))]
        assert all(r.status == "finished" and r.metrics["accuracy"] > 0.9 for r in shown)
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: table.total == 500, what="unfiltered")


async def test_sort_by_the_column_under_the_cursor(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(160, 30)) as pilot:
        table = await open_runs(app, pilot)
        await until(pilot, lambda: any(c.field == "metrics.accuracy" for c in table.columns), what="metric columns")
        while table.current_field != "metrics.accuracy":
            await pilot.press("right")
        await pilot.press("s")
        await until(pilot, lambda: table.loaded and table.row(0).status != "queued", what="sorted")
        top = [table.row(i).metrics["accuracy"] for i in range(10)]
        assert top == sorted(top, reverse=True)
        await pilot.press("s")  # again: ascending
        await until(pilot, lambda: table.loaded and table.row(0).metrics.get("accuracy", 1) < top[-1])
        low = [table.row(i).metrics["accuracy"] for i in range(10)]
        assert low == sorted(low) and low[0] < top[0]


async def test_choose_columns(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        await until(pilot, lambda: any(c.field == "metrics.accuracy" for c in table.columns), what="metric columns")
        await pilot.press("o")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ColumnsModal")
        await pilot.press("space", "enter")  # the first choice is `status` (`id` always shows): hide it
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert [c.field for c in table.columns][:2] == ["id", "metrics.accuracy"]
        assert "status" not in [c.field for c in table.columns]


async def test_mark_two_runs_and_compare_them(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        table = await open_runs(app, pilot)
        await pilot.press("c")  # nothing marked: a hint, no screen
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("down", "down", "down", "space", "space")
        marked = list(table.marked)
        assert len(marked) == 2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        grid = app.screen.query_one("#compare-table")
        await until(pilot, lambda: grid.row_count > 0, what="compare rows")
        assert [str(c.label) for c in grid.columns.values()][1:] == marked
        fields = [str(grid.get_row_at(i)[0]) for i in range(grid.row_count)]
        assert {"params.lr", "params.width", "metrics.accuracy", "metrics.loss"} <= set(fields)
        assert sorted(app.screen.series["accuracy"]) == sorted(marked)
        assert all(len(steps) == 5 for steps, _ in app.screen.series["accuracy"].values())
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_enter_opens_the_run_with_its_params_and_metrics(seeded_lab: Lab) -> None:
    app = make_app(seeded_lab, start="runs")
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        await pilot.press("down", "down", "down", "down")
        run = table.current
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        screen = app.screen
        assert screen.run.id == run.id
        params = screen.query_one("#run-params")
        shown = {str(params.get_row_at(i)[0]): str(params.get_row_at(i)[1]) for i in range(params.row_count)}
        assert shown == {k: str(v) for k, v in run.params.items()}
        assert len(screen.series["loss"][0]) == 5
        await pilot.press("t", "t")
        assert screen.query_one("#run-tabs").active == "metrics"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
