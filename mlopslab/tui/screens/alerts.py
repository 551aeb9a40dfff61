"""Alerts: what the monitor found (idle GPUs, full GPU memory, budgets, lost runs,
rollbacks, SLOs), one per rule and subject, live; `a` acknowledges the selected one."""

from __future__ import annotations

import getpass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from mlopslab.core.alerts import SEVERITIES, Alert
from mlopslab.tui.format import ago
from mlopslab.tui.screens.base import LabScreen, selected_key

# the message is cut to what the other columns leave, and shown whole under the table
# with the subject; below WIDE columns the subject is left out of the table for it
COLUMNS = ("severity", "state", "rule", "subject", "message", "count", "last seen")
NARROW = tuple(c for c in COLUMNS if c != "subject")
WIDE = 110

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
STATE = {"open": ("open", "bold"), "acked": ("acked", "dim"), "resolved": ("resolved", "green")}


def severity(alert: Alert) -> Text:
    return Text(alert.severity, SEVERITY_STYLE.get(alert.severity, ""))


def state(alert: Alert) -> Text:
    word, style = STATE.get(alert.status, (alert.status, ""))
    return Text(word, style)


def rank(alert: Alert) -> tuple[int, int, float]:
    """Open ones first, then acknowledged, then resolved; the most severe, then the latest, first."""
    order = ("open", "acked", "resolved")
    status = order.index(alert.status) if alert.status in order else len(order)
    level = SEVERITIES.index(alert.severity) if alert.severity in SEVERITIES else -1
    return status, -level, -alert.last_seen.timestamp()


def summary(alerts: list[Alert], resolved_shown: bool) -> Text:
    """`2 open (1 critical) · 1 acknowledged`, and whether resolved ones are listed."""
    waiting = [a for a in alerts if a.status == "open"]
    acked = sum(a.status == "acked" for a in alerts)
    critical = sum(a.severity == "critical" for a in waiting)
    text = Text(" ")
    if not waiting and not acked:
        text.append("no open alerts", "bold green")
    else:
        text.append(f"{len(waiting)} open", "bold red" if critical else "bold")
        if critical:
            text.append(f" ({critical} critical)", "bold red")
        text.append(f" · {acked} acknowledged", "dim")
    if resolved_shown:
        text.append(f" · {sum(a.status == 'resolved' for a in alerts)} resolved", "dim")
    return text


def detail(alert: Alert, now: float) -> Text:
    """The highlighted alert: its message in full, when it was first and last seen, who
    acknowledged it and when it resolved."""
    text = Text.assemble(" ", severity(alert), f" {alert.rule} ", (alert.subject, "bold"), f"  {alert.id}\n ")
    text.append(alert.message)
    seen = f"\n first seen {ago(alert.first_seen, now, short=True)}, last {ago(alert.last_seen, now, short=True)}"
    text.append(seen + f", {alert.count} {'time' if alert.count == 1 else 'times'}", "dim")
    after = []
    if alert.acked_at is not None:
        after.append((f"acknowledged by {alert.acked_by or '?'} {ago(alert.acked_at, now, short=True)}", "dim"))
    if alert.resolved_at is not None:
        after.append((f"resolved {ago(alert.resolved_at, now, short=True)}", "green"))
    elif alert.sticky:
        after.append(("an occurrence: acknowledging it resolves it", "dim"))
    for i, (words, style) in enumerate(after):
        text.append("\n " if i == 0 else " · ")
        text.append(words, style)
    return text


class AlertsScreen(LabScreen):
    TITLE = "Alerts"
    HELP = ("What the lab service's monitor found, one alert per rule and subject, newest "
            "first and updated live: idle GPUs, GPU memory near full, budgets, lost runs, "
            "rollbacks, SLOs. An alert resolves itself when its condition clears. a "
            "acknowledges the selected alert (you are recorded as having seen it; an "
            "occurrence such as a lost run is resolved by it); h shows or hides resolved ones.")
    BINDINGS: ClassVar = [
        Binding("a", "ack", "Acknowledge"),
        Binding("h", "toggle_resolved", "Resolved"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[Alert] = []
        self.show_resolved = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="alerts-summary")
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="alert-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(DataTable).focus()
        self.refresh_while_shown(self.action_reload)

    def on_resize(self) -> None:
        self._show(self.alerts)

    def _columns(self) -> tuple[str, ...]:
        """The columns for this width: the subject only where the message still has room."""
        wanted = COLUMNS if self.size.width >= WIDE else NARROW
        table = self.query_one(DataTable)
        if tuple(str(c.key.value) for c in table.columns.values()) != wanted:
            table.clear(columns=True)
            for name in wanted:
                table.add_column(Text(name, justify="right") if name == "count" else name, key=name)
        return wanted

    def action_reload(self) -> None:
        everything = self.show_resolved
        self.in_thread(lambda: self.lab.backend.client.monitor.alerts(all=everything),
                       self._show, group="alerts")

    def _show(self, alerts: list[Alert]) -> None:
        self.alerts = alerts = sorted(alerts, key=rank)
        table = self.query_one(DataTable)
        keep = self._selected()
        columns = self._columns()
        table.clear()
        now = self.lab.clock()
        rows = [{"severity": severity(a), "state": state(a), "rule": a.rule, "subject": a.subject,
                 "count": Text(str(a.count), justify="right"), "last seen": ago(a.last_seen, now, short=True)}
                for a in alerts]
        widths = [max([len(c), *(len(str(row[c])) for row in rows)]) + 2 for c in columns if c != "message"]
        room = max(16, self.size.width - sum(widths) - 6)  # the message: what the others leave (and a scrollbar)
        for a, row in zip(alerts, rows, strict=True):
            row["message"] = a.message if len(a.message) <= room else a.message[: room - 1] + "…"
            table.add_row(*(row[c] for c in columns), key=a.id)
        ids = [a.id for a in alerts]
        table.move_cursor(row=ids.index(keep) if keep in ids else 0)
        self.query_one("#alerts-summary", Static).update(summary(alerts, self.show_resolved))
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        chosen = next((a for a in self.alerts if a.id == self._selected()), None)
        self.query_one("#alert-detail", Static).update(detail(chosen, self.lab.clock()) if chosen else "")

    def _selected(self) -> str | None:
        return selected_key(self.query_one(DataTable))

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        self.action_reload()

    def action_ack(self) -> None:
        chosen = next((a for a in self.alerts if a.id == self._selected()), None)
        if chosen is None:
            return
        if chosen.status != "open":
            self.notify(f"{chosen.id} is already {'acknowledged' if chosen.status == 'acked' else 'resolved'}")
            return

        def done(alert: Alert) -> None:
            word = "resolved" if alert.status == "resolved" else "acknowledged"
            self.notify(f"{alert.rule} {alert.subject}: {word} by {alert.acked_by}")
            self.action_reload()
            self.lab.check_status()  # the header's badge

        actor = getpass.getuser()
        self.in_thread(lambda: self.lab.backend.client.monitor.ack(id=chosen.id, actor=actor), done,
                       group="alerts-ack")
