"""Tests of duration parsing (mlopslab.core.durations)."""

from __future__ import annotations

import pytest

from mlopslab.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("1.5", 1.5),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("0.5h", 1800.0),
        (" 30M ", 1800.0),
    ],
)
def test_accepted_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 parsecs", "30 m", "m", "1h 30m", "30min", "-5m", "h1",
                                  "-5", "inf", "nan", "1e3", "banana"])
def test_rejected_forms_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert "is not a duration" in str(info.value)
    assert "30m" in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "tenths", "text"),
    [
        (None, False, "-"),
        (4.25, False, "4s"),
        (4.25, True, "4.2s"),
        (185, False, "3m05s"),
        (7800, True, "2h10m"),
        (3 * 86400 + 7200, False, "3d2h"),
        (-3, False, "0s"),
    ],
)
def test_durations_are_written_short(seconds: float | None, tenths: bool, text: str) -> None:
    assert format_duration(seconds, tenths=tenths) == text
