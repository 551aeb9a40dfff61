"""How each run status looks, the same in the CLI and the TUI: a rich style name and
an icon. Plain strings, so the core stays free of any UI library."""

from __future__ import annotations

STATUS_STYLE = {
    "finished": "green", "running": "bold cyan", "starting": "cyan", "queued": "yellow",
    "failed": "bold red", "timed_out": "red", "killed": "red", "cancelled": "bright_black",
}
STATUS_ICON = {
    "finished": "✓", "running": "▶", "starting": "◌", "queued": "…", "failed": "✗",
    "timed_out": "◷", "killed": "☠", "cancelled": "⊘",
}
