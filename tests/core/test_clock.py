"""Tests of the store's time helper (mlopslab.core.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlopslab.core.clock import utc_naive


def test_epoch_seconds_become_a_naive_utc_datetime() -> None:
    assert utc_naive(0) == datetime(1970, 1, 1)
    assert utc_naive(86400.5) == datetime(1970, 1, 2, 0, 0, 0, 500000)


def test_no_epoch_means_now() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    assert utc_naive().tzinfo is None
    assert abs(utc_naive() - now) < timedelta(seconds=5)
