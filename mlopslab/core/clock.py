"""Times as the store keeps them: naive datetimes in UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_naive(epoch: float | None = None) -> datetime:
    """Epoch seconds (now, when None) as a naive datetime in UTC."""
    return datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC).replace(tzinfo=None)


def epoch_ms(value: datetime | None) -> int | None:
    """A time as MLflow keeps it: whole milliseconds since the epoch (None stays None)."""
    return None if value is None else round(value.timestamp() * 1000)
