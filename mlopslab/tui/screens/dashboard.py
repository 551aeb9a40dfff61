"""Dashboard: GPUs, active runs, the latest runs and run counts, deployments, today's
cost and the open alerts, live."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlopslab.core.alerts import Alert
from mlopslab.core.cost import CostLine
from mlopslab.core.deployments import Deployment
from mlopslab.core.queue import QueueEntry
from mlopslab.core.run import Run, RunFields
from mlopslab.core.status_style import STATUS_ICON, STATUS_STYLE
from mlopslab.tui.format import ago, number
from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.widgets.gpu_panel import GpuPanel

if TYPE_CHECKING:
    from mlopslab.client import LabClient

RECENT = 6

Loaded = tuple[list[QueueEntry], list[Run], RunFields, list[str]]  # active, latest, fields, primary


class DashboardScreen(LabScreen):
    TITLE = "Dashboard"
    HELP = ("The lab at a glance, updated live: GPUs, runs running and waiting, the latest "
            "runs, and how many runs ended how. Keys 1-5 go to the other screens.")
    BINDINGS: ClassVar = [Binding("r", "reload", "Refresh", show=False)]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(" GPUs", "bold underline"))
            yield GpuPanel(processes=False, id="dash-gpus")
            yield Static("", id="dash-active")
            yield Static("", id="dash-recent")
            yield Static("", id="dash-counts")
            yield Static("", id="dash-deployments")
            yield Static("", id="dash-today")

    def on_mount(self) -> None:
        super().on_mount()
        if self.lab.gpu_reading is not None:
            self.query_one(GpuPanel).show(self.lab.gpu_reading, self.lab.gpu_history)
        self.refresh_while_shown(self.action_reload)

    def action_reload(self) -> None:
        backend = self.lab.backend

        def fetch() -> Loaded:
            fields, primary = backend.run_fields()
            return backend.queue(), backend.client.runs.list(limit=RECENT), fields, primary

        # apart, so a slow deployment check never holds up the runs
        self.in_thread(fetch, self._show, group="dashboard")
        self.in_thread(lambda: backend.client.deployments.list(), self._show_deployments, group="dashboard-deployments")
        now = self.lab.clock()
        self.in_thread(lambda: today(backend.client, now), self._show_today, group="dashboard-today")

    def _show_today(self, found: tuple[CostLine | None, str, list[Alert]]) -> None:
        self.query_one("#dash-today", Static).update(today_block(*found))

    def _show_deployments(self, deployments: list[Deployment]) -> None:
        self.query_one("#dash-deployments", Static).update(deployments_block(deployments))

    def _show(self, result: Loaded) -> None:
        active, recent, fields, primary = result
        now = self.lab.clock()
        width = self.size.width
        self.query_one("#dash-active", Static).update(runs_block(
            f"active runs ({len(active)})", active, now, "nothing running or waiting", width))
        self.query_one("#dash-recent", Static).update(runs_block(
            "latest runs", recent, now, "no runs yet", width, primary))
        counts = Text(" runs: ", "bold")
        for status, n in sorted(fields.statuses.items(), key=lambda kv: -kv[1]):
            counts.append(f"{STATUS_ICON.get(status, '')} {status} {n:,}  ", STATUS_STYLE.get(status, ""))
        self.query_one("#dash-counts", Static).update(counts)


def today(client: LabClient, now: float) -> tuple[CostLine | None, str, list[Alert]]:
    """The cost of the UTC day of `now`, up to `now`, and the open alerts."""
    day = datetime.fromtimestamp(now, UTC)
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    report = client.monitor.cost(by="day", since=midnight, until=now)
    line = next((c for c in report.lines if c.key == day.strftime("%Y-%m-%d")), None)
    return line, report.currency, client.monitor.alerts(limit=50)


def today_block(line: CostLine | None, currency: str, alerts: list[Alert]) -> Text:
    text = Text(" today: ", "bold")
    if line is None:
        text.append("nothing has cost anything yet")
    else:
        text.append(f"{line.cost_allocated:,.2f} {currency}")
        text.append(f"  (idle GPU waste {line.idle_waste:,.2f}", "dim")
        if line.unpriced_gpu_hours:
            text.append(f", {line.unpriced_gpu_hours:,.1f} GPU-h unpriced", "yellow")
        text.append(")", "dim")
    text.append("\n alerts: ", "bold")
    if not alerts:
        text.append("none open", "green")
    for alert in alerts[:3]:
        style = "bold red" if alert.severity == "critical" else "yellow"
        text.append(f"\n  {alert.severity} ", style)
        text.append(alert.message)
    if len(alerts) > 3:
        text.append(f"\n  and {len(alerts) - 3} more (mlopslab alerts)", "dim")
    return text


def deployments_block(found: list[Deployment]) -> Table:
    from mlopslab.tui.screens.deployments import health, traffic

    table = Table(title=f" deployments ({len(found)})", title_justify="left", title_style="bold underline",
                  box=None, padding=(0, 1), show_header=False, expand=True)
    for _ in range(4):
        table.add_column(no_wrap=True)
    table.add_column(overflow="ellipsis", no_wrap=True, ratio=1)
    for d in found:
        requests, errors, p99 = traffic(d)
        table.add_row(d.name, health(d), f"{d.model}@{d.active_version or '-'}",
                      d.endpoint, Text(f"{requests} req  {errors} err  p99 {p99} ms", "dim"))
    if not found:
        table.add_row(Text("none (mlopslab deploy MODEL)", "dim"), "", "", "", "")
    return table


def runs_block(title: str, runs: Sequence[Run | QueueEntry], now: float, empty: str, width: int,
               primary: list[str] | None = None) -> Table:
    """Runs one a line; the last column is each run's reason (`primary` None) or its
    metrics, the primary ones first, as many whole `name value` pairs as fit. A queue
    entry has no creation time: its age shows as —."""
    table = Table(title=f" {title}", title_justify="left", title_style="bold underline", box=None,
                  padding=(0, 1), show_header=False, expand=True)
    for _ in range(4):
        table.add_column(no_wrap=True)
    table.add_column(overflow="ellipsis", no_wrap=True, ratio=1)
    rows = [(run.id, f"{STATUS_ICON.get(run.status, '')} {run.status}", run.recipe or "",
             ago(run.created_at if isinstance(run, Run) else None, now, short=True)) for run in runs]
    room = width - sum(max((len(r[i]) for r in rows), default=0) for i in range(4)) - 12  # paddings, scrollbar
    for run, row in zip(runs, rows, strict=True):
        if primary is None or not isinstance(run, Run):
            detail = run.reason or ""
        else:
            metrics = run.metrics or {}
            names = [m for m in primary if m in metrics] + sorted(m for m in metrics if m not in primary)
            detail = whole_pairs([(m, number(metrics[m])) for m in names], room)
        table.add_row(row[0], Text(row[1], STATUS_STYLE.get(run.status, "")), row[2], row[3],
                      Text(detail, "dim"))
    if not runs:
        table.add_row(Text(empty, "dim"), "", "", "", "")
    return table


def whole_pairs(pairs: list[tuple[str, str]], room: int) -> str:
    """`name value  name value…`, only pairs that fit whole in `room` cells: a number is
    never cut; when not even one pair fits, the first value alone (if it fits)."""
    shown = ""
    for name, value in pairs:
        more = f"{shown}  {name} {value}" if shown else f"{name} {value}"
        if len(more) > room:
            break
        shown = more
    if not shown and pairs and len(pairs[0][1]) <= room:
        shown = pairs[0][1]
    return shown
