"""The top line: lab name, the screen, service and Ray status, the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mlopslab.core.service_status import ServiceStatus


class LabHeader(Widget):
    """One line, always on top. `status` is the service's ping answer (or an error)."""

    DEFAULT_CSS = """
    LabHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    """

    lab_name: reactive[str] = reactive("")
    screen_title: reactive[str] = reactive("")
    status: reactive[ServiceStatus | None] = reactive(None)
    problem: reactive[str | None] = reactive(None)

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
        right = Text()
        if self.problem:
            right.append("● service down", "bold red")
        elif self.status is None:
            right.append("● service …", "yellow")
        else:
            right.append("● service", "green")
            ray = self.status.ray
            right.append("  ")
            if ray:
                right.append(f"● ray {ray.address}", "green")
            else:
                right.append("○ ray idle", "bright_black")
            active = self.status.active_runs
            if active:
                right.append(f"  ▶ {active} active", "cyan")
        right.append("  " + datetime.fromtimestamp(self.now(), self.tz).strftime("%H:%M") + " ")
        gap = max(1, self.size.width - text.cell_len - right.cell_len)
        text.append(" " * gap)
        text.append_text(right)
        text.truncate(self.size.width)
        return text
