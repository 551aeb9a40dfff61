"""Runs: every run of the lab in a windowed table; filter, sort, choose columns,
mark runs and compare them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from mlopslab.core.filters import FilterError, parse_filter
from mlopslab.core.run import RunFields
from mlopslab.tui.screens.base import LabModal, LabScreen, describe
from mlopslab.tui.widgets.runs_table import BASE_COLUMNS, Column, RunsTable, default_columns, default_width

DEFAULT_SORT = "-created_at"
DESCENDING_FIRST = ("metrics.", "created_at", "started_at", "ended_at", "duration")


class RunsScreen(LabScreen):
    TITLE = "Runs"
    HELP = ("Every run of the lab, newest first. / edits the filter (checked as you type; "
            "enter applies, escape clears), left/right pick a column, s sorts by it (again: "
            "reverse), o chooses columns, space marks runs, c compares the marked runs, "
            "enter opens a run.")
    BINDINGS: ClassVar = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("o", "columns", "Columns"),
        Binding("c", "compare", "Compare"),
        Binding("r", "reload", "Refresh", show=False),
        Binding("escape", "clear", "Clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter: str = ""
        self.sort: str = DEFAULT_SORT
        self.fields = RunFields(metrics=[], params=[], statuses={})
        self.chose_columns = False  # columns chosen with `o` stay as chosen

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="filter, e.g. status = 'finished' and metrics.acc > 0.9   (press /)",
                    id="filter")
        yield Static("", id="filter-problem")
        yield RunsTable(self.lab.clock, id="runs")
        yield Static("", id="runs-status")

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.reload_query()
        self.in_thread(self._fields, self._fields_loaded, group="fields")
        if self.lab.poll_s:  # keep the table fresh without resetting the query
            self.set_interval(self.lab.poll_s, lambda: self.table.reload() if self.is_current else None)

    def reload_query(self) -> None:
        backend, filter, sort = self.lab.backend, self.filter, self.sort
        self.table.load(lambda offset, limit: backend.client.runs.list(filter or None, sort or None, limit, offset),
                        lambda: backend.client.runs.count(filter or None))
        self._show_status()

    def _fields_loaded(self, loaded: tuple[RunFields, list[str]]) -> None:
        fields, primary = loaded
        self.fields = fields
        if not self.chose_columns:
            self.table.set_columns(default_columns(fields.metrics, fields.params, primary))
        self._show_status()

    # filter -----------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _check_filter(self, event: Input.Changed) -> None:
        problem = self.query_one("#filter-problem", Static)
        try:
            if event.value.strip():
                parse_filter(event.value)
            problem.update("")
            problem.display = False
        except FilterError as e:
            problem.update(Text(f"✗ {e}", style="red"))
            problem.display = True

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        try:
            if event.value.strip():
                parse_filter(event.value)
        except FilterError as e:
            self.notify(describe(e), title="filter", severity="error")
            return
        self.filter = event.value.strip()
        self.table.focus()
        self.reload_query()

    def action_clear(self) -> None:
        box = self.query_one("#filter", Input)
        if self.focused is box or self.filter:
            box.value = ""
            self.filter = ""
            self.table.focus()
            self.reload_query()
        elif self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
            self._show_status()

    # sort, columns, compare -------------------------------------------------

    def action_sort(self) -> None:
        field = self.table.current_field
        if self.sort.lstrip("-") == field:
            self.sort = field if self.sort.startswith("-") else f"-{field}"
        else:
            self.sort = f"-{field}" if field.startswith(DESCENDING_FIRST) else field
        self.reload_query()

    def action_columns(self) -> None:
        def chosen(fields: list[str] | None) -> None:
            if fields:
                self.chose_columns = True
                self.table.set_columns([Column(f, default_width(f)) for f in fields])

        self.app.push_screen(ColumnsModal(self.fields, [c.field for c in self.table.columns]), chosen)

    def action_compare(self) -> None:
        from mlopslab.tui.screens.compare import CompareScreen

        runs = list(self.table.marked.values())
        if len(runs) < 2:
            self.notify("mark two or more runs with space first", title="compare")
            return
        self.app.push_screen(CompareScreen([r.id for r in runs]))

    def action_reload(self) -> None:
        self.reload_query()
        self.in_thread(self._fields, self._fields_loaded, group="fields")

    def _fields(self) -> tuple[RunFields, list[str]]:
        return self.lab.backend.run_fields()

    @on(RunsTable.Opened)
    def _open(self, event: RunsTable.Opened) -> None:
        from mlopslab.tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(event.run_id))

    @on(RunsTable.Moved)
    def _moved(self) -> None:
        self._show_status()

    @on(RunsTable.Failed)
    def _failed(self, event: RunsTable.Failed) -> None:
        self.notify(describe(event.error), title="runs", severity="error")

    def _show_status(self) -> None:
        table = self.table
        text = Text()
        if table.total:
            text.append(f" {table.cursor + 1:,} of {table.total:,} runs", "bold")
        else:
            text.append(" no runs" + (" match the filter" if self.filter else ""), "bold")
        text.append(f"  sort {self.sort}")
        text.append(f"  column {table.current_field}", "dim")
        if table.marked:
            text.append(f"  ● {len(table.marked)} marked", "magenta")
        self.query_one("#runs-status", Static).update(text)


class ColumnsModal(LabModal):
    """Choose the columns of the run table (space toggles, enter applies); `id` always shows."""

    BINDINGS: ClassVar = [Binding("escape", "dismiss", "Close"),
                          Binding("enter", "apply", "Apply", priority=True)]

    def __init__(self, fields: RunFields, current: list[str]) -> None:
        super().__init__()
        names = [c.field for c in BASE_COLUMNS] + [f"metrics.{k}" for k in fields.metrics]
        names += [f"params.{k}" for k in fields.params]
        self.names = [n for n in current if n in names] + [n for n in names if n not in current]
        self.current = set(current)

    def compose(self) -> ComposeResult:
        selections = [Selection(n, n, n in self.current) for n in self.names if n != "id"]
        yield SelectionList[str](*selections, id="columns")
        yield Static("space: show/hide · enter: apply · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).border_title = "columns"

    def action_apply(self) -> None:
        chosen = set(self.query_one(SelectionList).selected)
        self.dismiss(["id", *(n for n in self.names if n in chosen and n != "id")])
