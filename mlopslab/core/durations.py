"""Durations written as `90s`, `30m`, `2h`, `1h30m` or a plain number of seconds, and
the one way the CLI and the TUI write a duration back."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


FORMS = "90s, 30m, 2h, 1h30m or a number of seconds"
"""The accepted forms, for messages and hints."""


def parse_duration(text: str) -> float:
    """Seconds in `text`; raise ValueError with the accepted forms otherwise.

    Negative, infinite and NaN durations are refused (`float()` alone takes them)."""
    text = text.strip().lower()
    if _NUMBER.fullmatch(text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"'{text}' is not a duration (expected e.g. 90s, 30m, 2h, 1h30m)")
    return sum(float(n) * _UNIT[u] for n, u in parts)


def _checked(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_checked)]
"""A pydantic field type: a duration kept as written, checked when parsed."""


def format_duration(seconds: float | None, *, tenths: bool = False, missing: str = "-") -> str:
    """A short duration: `42s` (`4.2s` with `tenths`), `3m05s`, `2h10m`, `4d3h`.

    `missing` stands for None (the CLI writes `-`, the TUI `—`)."""
    if seconds is None:
        return missing
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if tenths else f"{int(seconds)}s"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"
