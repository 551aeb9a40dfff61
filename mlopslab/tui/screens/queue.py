"""Queue: runs waiting and running, oldest first, with the reason each waits."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from mlopslab.core.queue import QueueEntry
from mlopslab.core.status_style import STATUS_ICON, STATUS_STYLE
from mlopslab.tui.format import ago, number
from mlopslab.tui.screens.base import LabScreen, selected_key
from mlopslab.tui.screens.confirm import ConfirmModal

# the short columns first, so 80 columns show them all; the reason last, and the
# highlighted run's reason in full under the table
COLUMNS = ("id", "status", "waiting", "gpus", "prio", "recipe", "user", "project", "why")


class QueueScreen(LabScreen):
    TITLE = "Queue"
    HELP = ("Runs waiting for resources or quota, in the order they will start, then runs "
            "starting or running. 'why' says why a run waits. x cancels the selected run, "
            "enter opens it.")
    BINDINGS: ClassVar = [
        Binding("x", "cancel", "Cancel run"),
        Binding("enter", "open", "Open", show=False),
        Binding("r", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, QueueEntry] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="queue-summary")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="queue-why")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        table.focus()
        self.refresh_while_shown(self.action_reload)

    def action_reload(self) -> None:
        self.in_thread(self.lab.backend.queue, self._show, group="queue")

    def _show(self, runs: list[QueueEntry]) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        now = self.lab.clock()
        for run in runs:
            status = run.status
            table.add_row(
                run.id, Text(f"{STATUS_ICON.get(status, '')} {status}", STATUS_STYLE.get(status, "")),
                ago(run.queued_at, now).removesuffix(" ago"),
                number(run.resources.gpus), number(run.priority), run.recipe or "",
                run.user or "", run.project or "", Text(_why(run), "yellow"), key=run.id)
        self.runs = {run.id: run for run in runs}
        table.move_cursor(row=min(keep, max(0, len(runs) - 1)))
        self._show_why()
        waiting = sum(r.status == "queued" for r in runs)
        self.query_one("#queue-summary", Static).update(
            Text.assemble((f" {waiting} waiting", "yellow bold"), "  ",
                          (f"{len(runs) - waiting} starting or running", "cyan bold")))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_why()

    def _show_why(self) -> None:
        run = self.runs.get(self._selected() or "")
        why = Text.assemble((f" {run.id}: ", "bold"), (_why(run), "yellow")) if run else Text("")
        self.query_one("#queue-why", Static).update(why)

    def _selected(self) -> str | None:
        return selected_key(self.query_one(DataTable))

    def action_open(self) -> None:
        from mlopslab.tui.screens.run_detail import RunDetailScreen

        if (run_id := self._selected()) is not None:
            self.app.push_screen(RunDetailScreen(run_id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def _cancelled(self, run_id: str) -> None:
        self.notify(f"cancelling {run_id}")
        self.action_reload()

    def action_cancel(self) -> None:
        run_id = self._selected()
        if run_id is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.in_thread(lambda: self.lab.backend.client.runs.cancel(run_id, actor="tui"),
                               lambda _: self._cancelled(run_id))

        self.app.push_screen(ConfirmModal(f"Cancel run {run_id}?"), confirmed)


def _why(run: QueueEntry) -> str:
    return run.reason or ("waiting to start" if run.status == "queued" else run.status)
