"""`?`: what this screen is for and every key that works on it."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from mlopslab.tui.screens.base import LabModal


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, what they do) for the screen's bindings, its focused widget's, and the app's."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    sources: list[Any] = [screen]
    if screen.focused is not None:
        sources.insert(0, screen.focused)
    sources.append(screen.app)
    for source in sources:
        for binding in getattr(source, "BINDINGS", []):
            if not isinstance(binding, Binding):
                binding = Binding(*binding)
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            rows.append((binding.key_display or binding.key.replace(",", " "), binding.description))
    return rows


class HelpScreen(LabModal):
    """Help for the screen below it."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 1))
        for _ in range(2):  # two pairs of (keys, what) a line: it fits 80x24
            table.add_column(style="bold cyan", no_wrap=True, justify="right")
            table.add_column(no_wrap=True, min_width=16)
        rows = key_rows(self.target)
        half = (len(rows) + 1) // 2
        for left, right in zip(rows[:half], [*rows[half:], ("", "")], strict=False):
            table.add_row(*left, *right)
        title = getattr(self.target, "TITLE", "") or "mlopslab"
        text = Text(getattr(self.target, "HELP", "") or "", style="italic")
        with VerticalScroll(id="help"):
            yield Static(Text.assemble((f"{title}: keys", "bold"),
                                       ("   ctrl+p: every action by name · escape closes", "dim")))
            yield Static(text)
            yield Static(table)
