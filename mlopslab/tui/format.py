"""Turning run fields into short cell text and styles. No Textual: rich styles only.

Time is injected (`now`), so what the screens show is deterministic in tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlopslab.core.durations import format_duration
from mlopslab.core.run import Attempt, Run


def epoch(value: Any) -> float | None:
    """A time (a datetime, as nouns hold them; ISO text; a number) to epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def ago(value: Any, now: float, short: bool = False) -> str:
    """`3m05s ago`; `short`: minutes without their seconds (`3m ago`), for narrow lists."""
    when = epoch(value)
    if when is None:
        return "—"
    text = format_duration(now - when, missing="—")
    if short and "m" in text and text.endswith("s"):
        text = text[: text.index("m") + 1]
    return f"{text} ago"


def run_duration(run: Run | Attempt, now: float) -> float | None:
    start = epoch(run.started_at)
    if start is None:
        return None
    end = epoch(run.ended_at)
    return (end if end is not None else now) - start


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return str(value)


def size(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def cell(run: Run, field: str, now: float) -> str:
    """The text of one run field: `status`, `metrics.acc`, `params.lr`, `duration`..."""
    if field.startswith("metrics."):
        return number((run.metrics or {}).get(field.removeprefix("metrics.")))
    if field.startswith("params."):
        return number((run.params or {}).get(field.removeprefix("params.")))
    if field == "duration":
        return format_duration(run_duration(run, now), missing="—")
    if field in ("created_at", "started_at", "ended_at"):
        return ago(getattr(run, field), now)
    if field == "user":
        return str(run.user_name or "—")
    value = getattr(run, field, None)
    return "—" if value is None else str(value)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of eighths, `width` cells wide."""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])
    return text.ljust(width)
