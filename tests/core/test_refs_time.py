"""Points in time as `models history --at` takes them (core/refs.parse_time), with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlopslab.core.errors import RefError
from mlopslab.core.refs import parse_time

NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "ago"), [
    ("now", timedelta(0)), ("yesterday", timedelta(days=1)), ("2h", timedelta(hours=2)),
    ("3d ago", timedelta(days=3)), ("1h30m ago", timedelta(hours=1, minutes=30)),
    (" 90s ", timedelta(seconds=90)), ("2H AGO", timedelta(hours=2)),
])
def test_relative_times_count_back_from_now(text: str, ago: timedelta) -> None:
    assert parse_time(text, NOW) == NOW - ago


def test_iso_times_keep_their_zone_and_naive_ones_are_local() -> None:
    assert parse_time("2026-03-01T12:00+02:00", NOW) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    naive = parse_time("2026-03-01", NOW)
    assert naive.tzinfo is not None and naive.replace(tzinfo=None) == datetime(2026, 3, 1)


def test_today_is_local_midnight() -> None:
    today = parse_time("today", NOW)
    assert (today.hour, today.minute, today.second) == (0, 0, 0)
    assert today <= NOW < today + timedelta(days=1)


@pytest.mark.parametrize("text", ["banana", "", "ago", "10", "2026", "3x", "-2h", "tomorrow"])
def test_anything_else_says_which_forms_it_takes(text: str) -> None:
    with pytest.raises(RefError) as caught:
        parse_time(text, NOW)
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "yesterday" in caught.value.hint and "3d ago" in caught.value.hint
