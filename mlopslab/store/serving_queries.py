"""Reads of serving health: the scrapes of one deployment's model servers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mlopslab.core.clock import utc_naive
from mlopslab.core.serving_health import Buckets, HealthSample

if TYPE_CHECKING:
    from mlopslab.store.db import Store


def samples(store: Store, deployment: str, since: float,
            until: float) -> tuple[list[HealthSample], list[str]]:
    """Every scrape of `deployment` in [since, until), oldest first, and its versions."""
    rows = store.cursor().execute(
        "SELECT epoch(ts), version, seconds, requests, errors, rejected, latency_buckets, "
        "latency_sum_s, queue_depth, batches, batch_rows FROM serving_health "
        "WHERE deployment = ? AND ts >= ? AND ts < ? ORDER BY ts",
        [deployment, utc_naive(since), utc_naive(until)]).fetchall()
    found = [HealthSample(ts=float(r[0]), seconds=float(r[2]), requests=float(r[3]),
                          errors=float(r[4]), rejected=float(r[5]), buckets=_buckets(r[6]),
                          latency_sum_s=float(r[7] or 0), queue_depth=float(r[8] or 0),
                          batches=float(r[9] or 0), batch_rows=float(r[10] or 0)) for r in rows]
    versions = sorted({str(r[1]) for r in rows})
    return found, versions


def _buckets(text: str | None) -> Buckets:
    pairs = json.loads(text) if text else []
    return tuple((float("inf") if le == "+Inf" else float(le), float(n)) for le, n in pairs)
