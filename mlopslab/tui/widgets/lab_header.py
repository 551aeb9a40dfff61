"""The top line: lab name, the screen, service and Ray status, the open alerts, the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mlopslab.core.alerts import Alert
from mlopslab.core.service_status import ServiceStatus


def alert_badge(alerts: list[Alert] | None) -> Text:
    """`⚠ 2 alerts` for the alerts nobody has acknowledged yet, red when one is critical;
    nothing when there are none (or the service did not say)."""
    waiting = [a for a in alerts or [] if a.status == "open"]
    if not waiting:
        return Text()
    critical = any(a.severity == "critical" for a in waiting)
    word = "alert" if len(waiting) == 1 else "alerts"
    return Text(f"⚠ {len(waiting)} {word}", "bold red" if critical else "yellow")


class LabHeader(Widget):
    """One line, always on top. `status` is the service's ping answer (or an error)."""

    DEFAULT_CSS = """
    LabHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    """

    lab_name: reactive[str] = reactive("")
    screen_title: reactive[str] = reactive("")
    status: reactive[ServiceStatus | None] = reactive(None)
    problem: reactive[str | None] = reactive(None)
    alerts: reactive[list[Alert] | None] = reactive(None)  # open and acknowledged, from the service

    def __init__(self, now: Callable[[], float], tz: Any = None) -> None:
        super().__init__()
        self.now, self.tz = now, tz

    def on_mount(self) -> None:
        # the clock moves on its own: status answers may be slow or unchanged
        self.set_interval(1.0, self.refresh)

    def render(self) -> Text:
        text = Text.assemble((" mlopslab ", "bold reverse"), " ", (self.lab_name, "bold"))
        if self.screen_title:
            text.append(f" › {self.screen_title}")
        clock = f"  {datetime.fromtimestamp(self.now(), self.tz).strftime('%H:%M')} "
        right = self._facts(short_ray=False)
        if text.cell_len + right.cell_len + len(clock) + 1 > self.size.width:
            right = self._facts(short_ray=True)  # the ray address goes first, the badge stays
        right.append(clock)
        gap = max(1, self.size.width - text.cell_len - right.cell_len)
        text.append(" " * gap)
        text.append_text(right)
        text.truncate(self.size.width)
        return text

    def _facts(self, short_ray: bool) -> Text:
        """The open alerts, the service, Ray and the active runs, most important first."""
        right = Text()
        badge = alert_badge(self.alerts)
        if badge:
            right.append_text(badge)
            right.append("  ")
        if self.problem:
            right.append("● service down", "bold red")
        elif self.status is None:
            right.append("● service …", "yellow")
        else:
            right.append("● service", "green")
            ray = self.status.ray
            right.append("  ")
            if ray:
                right.append("● ray" if short_ray else f"● ray {ray.address}", "green")
            else:
                right.append("○ ray idle", "bright_black")
            active = self.status.active_runs
            if active:
                right.append(f"  ▶ {active} active", "cyan")
        return right
