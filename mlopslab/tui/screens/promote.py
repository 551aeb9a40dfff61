"""Promotion from the TUI: ask first, then the service's `promote` op (the one
`mlopslab promote` uses). A refusal shows the failing checks; forcing it past
them asks for a reason, which the service records in the alias history and the
audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from mlopslab.core.gate_reports import GateReport
from mlopslab.core.model_versions import ModelVersionDetail, VersionSummary
from mlopslab.core.registry import GatedPromotion, Promotion
from mlopslab.tui.format import number
from mlopslab.tui.screens.base import LabModal, LabScreen
from mlopslab.tui.screens.confirm import ConfirmModal

Promotable = VersionSummary | ModelVersionDetail  # a version as the models screens hold it


def promote(screen: LabScreen, version: Promotable, champion: int | None,
            done: Callable[[], None]) -> None:
    """Ask, promote `version` in a worker, and on a refusal offer to force it with a reason."""
    ref = version.ref
    if champion == version.version:
        screen.notify(f"{ref} is already the champion", title="promote")
        return

    def answered(result: GatedPromotion | Promotion) -> None:
        if result.promoted:
            screen.notify(f"{ref} is now champion (was {_at(result.from_version)})"
                          + (" — forced, reason recorded" if result.forced else ""),
                          title="promoted")
            done()
        elif (not isinstance(result, GatedPromotion) or result.report is None
              or result.from_version == result.version):
            screen.notify(f"{ref} not promoted: {result.why}", title="promote", severity="warning")
        else:
            done()  # a fresh gate report may have been stored
            screen.app.push_screen(RefusedModal(result), force)

    def force(chosen: bool | None) -> None:
        if chosen:
            screen.app.push_screen(ReasonModal(ref), forced)

    def forced(reason: str | None) -> None:
        if reason:
            screen.in_thread(lambda: screen.lab.backend.promote(ref, force=True, reason=reason),
                             answered, group="promote")

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.notify(f"promoting {ref}: gates run first when needed…", title="promote")
            screen.in_thread(lambda: screen.lab.backend.promote(ref), answered, group="promote")

    screen.app.push_screen(ConfirmModal(question(version, champion)), confirmed)


def question(version: Promotable, champion: int | None) -> str:
    gate = version.gate if isinstance(version, VersionSummary) else version.latest_report
    if gate is None:
        state = "It has no gate report yet: its gates run first."
    else:
        state = f"Its latest gate report {'passed' if gate.passed else 'FAILED'}; gates re-run " \
                "if it was not made against today's champion."
    return f"Promote {version.ref} to champion (now {_at(champion)})?\n{state}\nRefused unless its gates pass."


class RefusedModal(LabModal):
    """Why a promotion was refused: the failing checks. f forces it (asks for a reason)."""

    BINDINGS: ClassVar = [Binding("f", "force", "Force…"), Binding("escape,n", "close", "Close")]
    DEFAULT_CSS = """
    RefusedModal { align: center middle; }
    RefusedModal #refused { width: 76; max-width: 95%; height: auto; max-height: 90%;
                            padding: 0 1; border: thick $error; background: $surface; }
    """

    def __init__(self, result: GatedPromotion) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        r = self.result
        with Vertical(id="refused"):
            yield Static(Text.assemble((f"{r.ref} not promoted", "bold red"), f": {r.why}"),
                         id="refused-why")
            yield Static(failing_checks(r.report), id="refused-checks")
            yield Static("f: force it anyway (asks for a reason, audited)   escape: close", classes="hint")

    def action_force(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)


def failing_checks(report: GateReport | None) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("failed check", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("limit", no_wrap=True)
    for check in report.checks if report else []:
        if not check.passed:
            limit = f"{check.op} {number(check.limit)}" if check.limit is not None else "—"
            table.add_row(Text(f"{check.gate}.{check.name}", "red"), number(check.value), limit)
    return table


class ReasonModal(LabModal):
    """A forced promotion needs a reason: enter submits it, escape gives up."""

    BINDINGS: ClassVar = [Binding("escape", "give_up", "Cancel")]
    DEFAULT_CSS = """
    ReasonModal { align: center middle; }
    ReasonModal #reason-box { width: 70; max-width: 95%; height: auto; padding: 0 1;
                              border: thick $warning; background: $surface; }
    ReasonModal #reason { margin: 1 0 0 0; }
    ReasonModal #reason-hint { height: 1; }
    """

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Static(Text.assemble(("Force ", "bold"), (self.ref, "bold"), (" to champion", "bold"),
                                       "\nIts gates fail. Why promote it anyway? The reason, you and "
                                       "the overridden report are recorded."))
            yield Input(placeholder="reason (required)", id="reason")
            yield Static("enter: force   escape: cancel", id="reason-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-hint", Static).update(
                Text("a reason is required: a forced promotion is audited", "bold red"))
            return
        self.dismiss(reason)

    def action_give_up(self) -> None:
        self.dismiss(None)


def _at(version: int | None) -> str:
    return "none" if version is None else f"@{version}"
