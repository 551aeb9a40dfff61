"""Deployments: each endpoint with its active and previous version, health, traffic and
p99 latency per version; under them the selected one's serving health over the last
five minutes and the last hour (from its model servers' own counters) and its inputs'
drift (widgets/deployment_panels.py); `b` rolls the selected deployment back at once.

Register it in app.py's SCREENS as ("deployments", "7", "Deployments", DeploymentsScreen).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from mlopslab.core.deployments import Deployment, RolledBack
from mlopslab.core.drift_reports import DriftReport
from mlopslab.core.errors import NotFound
from mlopslab.core.serving_health import ServingHealth
from mlopslab.tui.screens.base import LabScreen, selected_key
from mlopslab.tui.screens.confirm import ConfirmModal
from mlopslab.tui.widgets.deployment_panels import drift_block, history_block, serving_block

if TYPE_CHECKING:
    from mlopslab.client import LabClient

COLUMNS = ("name", "endpoint", "health", "active", "previous", "requests", "errors", "p99 ms", "model", "backend")
HEALTH_WINDOW_S = 300.0
HOUR_SLICES = 12  # the last hour's sparklines: one bar per five minutes


HEALTH_STYLES = {"starting": "yellow", "endpoint down": "red bold", "active down": "red bold",
                 "watching": "yellow", "serving": "green"}


def health(d: Deployment) -> Text:
    """One word for a deployment's state, coloured."""
    word = d.health()
    return Text(word, HEALTH_STYLES[word])


def traffic(d: Deployment) -> tuple[str, str, str]:
    """Requests, errors and p99 (ms) the gateway saw for the active version."""
    seen = d.traffic()
    return str(seen.requests), str(seen.errors), f"{seen.p99_ms:.1f}" if seen.p99_ms is not None else "-"


def detail(d: Deployment) -> Text:
    """The stable endpoint to call, then each replica with its internal address."""
    text = Text.assemble(" endpoint ", (d.endpoint, "bold"), "  stable: the address clients call")
    for r in d.replicas:
        text.append(f"\n  v{r.version} {r.role}, {'up' if r.alive else 'down'}, ")
        text.append(f"internal {r.url}", "dim")
    return text


@dataclass(frozen=True)
class Panels:
    """What the panels under the table show for one deployment."""

    now: ServingHealth | None  # the last five minutes (None: not live)
    hour: list[ServingHealth]  # the last hour in HOUR_SLICES slices, oldest first
    drift: DriftReport | None


def panels(client: LabClient, name: str, until: float) -> Panels:
    try:
        now = client.monitor.serving_health(name=name, since=until - HEALTH_WINDOW_S, until=until)
        step = 3600.0 / HOUR_SLICES
        hour = [client.monitor.serving_health(name=name, since=until - 3600 + i * step,
                                              until=until - 3600 + (i + 1) * step)
                for i in range(HOUR_SLICES)]
    except NotFound:  # not live (undeployed), or a service without serving health
        now, hour = None, []
    try:
        drift = client.drift.report(name=name, windows=10)
    except NotFound:
        drift = None
    return Panels(now, hour, drift)


class DeploymentsScreen(LabScreen):
    TITLE = "Deployments"
    HELP = ("Each deployment's stable endpoint (the address clients call), the version taking "
            "traffic and the previous one kept warm, health, and what the gateway saw for the "
            "active version (requests, errors, p99). Replica addresses are internal: calling one "
            "bypasses blue/green. Under them, the selected deployment's serving health over the last "
            "5 minutes (requests/s, error rate, p50/p95/p99 latency, queue depth, rows per batch), "
            "from its model servers' own counters, the last hour of requests/s and p99, and whether "
            "its inputs drift from the training data (the drifted features of the latest window, "
            "with the statistic that broke its threshold; `mlopslab drift NAME` has every "
            "feature). b rolls the selected deployment back to its "
            "previous version at once.")
    BINDINGS: ClassVar = [
        Binding("b", "rollback", "Rollback"),
        Binding("r", "reload", "Refresh"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="deployments-summary")
        yield DataTable(id="deployments", cursor_type="row", zebra_stripes=True)
        yield Static("", id="deployment-health")
        yield Static("", id="deployment-drift")
        yield Static("", id="deployment-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        table.focus()
        self.found: list[Deployment] = []
        self.health: dict[str, Panels] = {}
        self._asked: str | None = None
        self.refresh_while_shown(self.action_reload)

    def action_reload(self) -> None:
        self.in_thread(lambda: self.lab.backend.client.deployments.list(), self._show, group="deployments")

    def _show(self, found: list[Deployment]) -> None:
        self.found = found
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for d in found:
            table.add_row(d.name, d.endpoint, health(d), d.active_version or "-",
                          d.previous_version or "-", *traffic(d), d.model, d.backend, key=d.name)
        table.move_cursor(row=min(keep, max(0, len(found) - 1)))
        summary = (f" {len(found)} {'deployment' if len(found) == 1 else 'deployments'}" if found
                   else " no deployments: `mlopslab deploy MODEL[@VERSION]` makes one")
        self.query_one("#deployments-summary", Static).update(Text(summary, "bold"))
        self._detail()
        self._ask_health()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()
        if self._selected() != self._asked:  # moved to another deployment
            self._ask_health()

    def _detail(self) -> None:
        chosen = next((d for d in self.found if d.name == self._selected()), None)
        self.query_one("#deployment-detail", Static).update(detail(chosen) if chosen else "")
        found = self.health.get(chosen.name) if chosen else None
        if found is None:
            health, drift = Text(" last 5 min …", "dim") if chosen else Text(""), Text("")
        else:
            health = serving_block(found.now).append("\n").append_text(history_block(found.hour))
            drift = drift_block(found.drift)
        self.query_one("#deployment-health", Static).update(health)
        self.query_one("#deployment-drift", Static).update(drift)

    def _ask_health(self) -> None:
        name = self._asked = self._selected()
        if name is None:
            return
        backend, until = self.lab.backend, self.lab.clock()

        def fetch() -> tuple[str, Panels]:
            return name, panels(backend.client, name, until)

        self.in_thread(fetch, self._show_health, group="deployment-health")

    def _show_health(self, found: tuple[str, Panels]) -> None:
        name, panels_of = found
        self.health[name] = panels_of
        if name == self._selected():
            self._detail()

    def _selected(self) -> str | None:
        return selected_key(self.query_one(DataTable))

    def action_rollback(self) -> None:
        name = self._selected()
        if name is None:
            return

        def done(result: RolledBack) -> None:
            self.notify(f"{name}: version {result.active_version} takes traffic "
                        f"(switched in {result.rollback_s * 1000:.1f} ms)")
            self.action_reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.in_thread(lambda: self.lab.backend.client.deployments.rollback(name=name, actor=getpass.getuser(),
                                                             reason="TUI"), done)

        self.app.push_screen(ConfirmModal(f"Roll {name} back to its previous version?"), confirmed)
