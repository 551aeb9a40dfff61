"""Cost: what runs and deployments cost, by allocation (what they held) and by use (what
the GPU monitor measured), with the idle GPU waste, grouped by project, user, run,
deployment or day; and every budget with its spend today and this month.

The numbers are the lab service's (core/cost.py, core/budgets.py); this screen only
lays them out. The window ends at the TUI's clock, so a fixed clock shows fixed numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mlopslab.core.budgets import PERIODS, BudgetUse
from mlopslab.core.cost import CostLine, CostReport
from mlopslab.core.cost import money as money_text
from mlopslab.tui.format import bar
from mlopslab.tui.screens.base import LabScreen

BYS = ("project", "user", "run", "deployment", "day")
WINDOWS = ("this month", "today", "all time")
# the money first, so 80 columns show it; then GPU hours held against busy, energy
COLUMNS = ("cost", "by use", "idle waste", "GPU-h held", "busy", "busy %", "energy kWh", "unpriced GPU-h")


def window(name: str, now: float) -> tuple[float | None, str]:
    """The start (epoch seconds, UTC) of a named window ending `now`, and its label."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "today":
        return day.timestamp(), day.strftime("%Y-%m-%d")
    if name == "this month":
        return day.replace(day=1).timestamp(), day.strftime("%Y-%m")
    return None, "all time"


def money(amount: float, line: CostLine) -> Text:
    """An amount; `+?` in yellow when the line also has GPU-hours with no price (so the
    amount is not all of it), and `unpriced` rather than 0 when nothing of it is priced."""
    if line.unpriced_gpu_hours and not amount:
        return Text("unpriced", "yellow", justify="right")
    text = Text(money_text(amount), justify="right")
    if line.unpriced_gpu_hours:
        text.append(" +?", "yellow")
    return text


def hours(value: float) -> Text:
    return Text(f"{value:,.2f}" if value else "—", "" if value else "dim", justify="right")


def busy_pct(line: CostLine) -> Text:
    if line.busy_pct is None:
        return Text("—", "dim", justify="right")
    style = "red" if line.busy_pct < 20 else "yellow" if line.busy_pct < 60 else "green"
    return Text(f"{line.busy_pct:.0f}%", style, justify="right")


def cells(line: CostLine) -> list[Text]:
    unpriced = (Text(f"{line.unpriced_gpu_hours:,.2f}", "yellow", justify="right") if line.unpriced_gpu_hours
                else Text("—", "dim", justify="right"))
    return [money(line.cost_allocated, line), money(line.cost_used, line),
            money(line.idle_waste, line) if line.gpu_hours_allocated else Text("—", "dim", justify="right"),
            hours(line.gpu_hours_allocated), hours(line.gpu_hours_busy), busy_pct(line),
            hours(line.energy_kwh), unpriced]


def totals(report: CostReport, label: str) -> Text:
    """The window's totals over the lines, and what `+?` means when some are unpriced."""
    lines = report.lines
    if not lines:
        return Text.assemble(" nothing has cost anything", (f"  ({label}, by {report.by})", "dim"))
    text = Text.assemble(" ", (f"{money_text(sum(c.cost_allocated for c in lines))} {report.currency}", "bold"),
                         f" by allocation, {money_text(sum(c.cost_used for c in lines))} by use, idle GPU waste ",
                         (money_text(sum(c.idle_waste for c in lines)), "yellow"), f"  ({label}, by {report.by})")
    unpriced = sum(c.unpriced_gpu_hours for c in lines)
    if unpriced:
        text.append(f"\n +? and {unpriced:,.2f} GPU-h on GPUs with no price ([cost] gpu_hourly)", "yellow")
    return text


def budget_bar(use: BudgetUse, period: str, warn: float, width: int) -> Text:
    """`███▌      3.20/5.00` for one period of a budget; `—` without a limit."""
    share, limit = use.share(period), use.budget.limit(period)
    if share is None or not limit:
        return Text("—", "dim")
    spent = use.spent_today if period == "daily" else use.spent_month
    style = "red" if share >= 1.0 else "yellow" if share >= warn else "green"
    return Text.assemble((bar(share, width), f"{style} on grey23"), f" {money_text(spent)}/{money_text(limit)}",
                         (f" {100 * share:.0f}%", style))


def budgets_block(uses: list[BudgetUse], warn: float, width: int) -> Table:
    table = Table(title=f" budgets ({len(uses)})", title_justify="left", title_style="bold underline",
                  box=None, padding=(0, 1), show_header=bool(uses), header_style="dim", expand=False)
    graph = 10 if width < 100 else 16
    table.add_column("", no_wrap=True)
    table.add_column("", no_wrap=True)
    for period in PERIODS:
        table.add_column("today" if period == "daily" else "this month", no_wrap=True)
    for use in uses:
        b = use.budget
        table.add_row(f"{b.scope} {b.name}", Text("hard", "bold red") if b.hard else "",
                      *(budget_bar(use, period, warn, graph) for period in PERIODS))
    if not uses:
        table.add_row(Text("none (mlopslab budget set --project P --monthly AMOUNT)", "dim"), "", "", "")
    return table


class CostScreen(LabScreen):
    TITLE = "Cost"
    HELP = ("What runs and deployments cost in this lab's prices ([cost] in mlopslab.toml): by "
            "allocation (the GPUs, CPUs and memory they held) and by use (GPU-hours the monitor "
            "measured busy), and the idle waste (GPU-hours held but not busy). GPU-hours on a GPU "
            "with no price are shown as unpriced (+?), never as free. b groups by project, user, "
            "run, deployment or day; w chooses this UTC month, today or all time. Below: every "
            "budget, with its spend today and this month ('hard' ones keep new runs waiting).")
    BINDINGS: ClassVar = [
        Binding("b", "cycle_by", "By"),
        Binding("w", "cycle_window", "Window"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.by, self.span = BYS[0], WINDOWS[0]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="cost-summary")
        yield DataTable(id="cost", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="cost-more"):
            yield Static("", id="cost-budgets")

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()
        self.query_one(DataTable).focus()
        self.refresh_while_shown(self.action_reload)

    def _columns(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column(self.by, key="key")
        for name in COLUMNS:
            table.add_column(Text(name, justify="right"), key=name)

    def action_reload(self) -> None:
        backend, now, by = self.lab.backend, self.lab.clock(), self.by  # a client per worker thread
        since, label = window(self.span, now)
        self.in_thread(lambda: (backend.client.monitor.cost(by=by, since=since, until=now), label),
                       self._show, group="cost")
        self.in_thread(lambda: backend.client.monitor.budgets(), self._show_budgets, group="cost-budgets")

    def _show(self, found: tuple[CostReport, str]) -> None:
        report, label = found
        if report.by != self.by:
            return  # a late answer for the previous grouping
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for line in report.lines:
            table.add_row(line.key if line.key != "-" else Text("(none)", "dim"), *cells(line), key=line.key)
        table.move_cursor(row=min(keep, max(0, table.row_count - 1)))
        self.query_one("#cost-summary", Static).update(totals(report, label))

    def _show_budgets(self, uses: list[BudgetUse]) -> None:
        pcts = [p for p in self.lab.backend.lab.config.cost.budget_alerts_pct if p < 100] or [80.0]
        block = budgets_block(uses, min(pcts) / 100, self.size.width)
        self.query_one("#cost-budgets", Static).update(block)

    def action_cycle_by(self) -> None:
        self.by = BYS[(BYS.index(self.by) + 1) % len(BYS)]
        self._columns()
        self.action_reload()

    def action_cycle_window(self) -> None:
        self.span = WINDOWS[(WINDOWS.index(self.span) + 1) % len(WINDOWS)]
        self.action_reload()
