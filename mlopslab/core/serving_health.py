"""Serving health: what a deployment's model servers answered, from their counters.

The lab service scrapes each live replica's `/metrics` (Prometheus text) and keeps
the *difference* from the previous scrape: requests, errors (5xx), requests shed,
the latency histogram's buckets, rows per batch. Differences add up, so the health
over any window (request rate, error rate, p50/p95/p99 latency) is exact for the
histogram's buckets: a quantile is interpolated inside its bucket, as Prometheus'
`histogram_quantile` does. A counter that went down means the server restarted:
its new counts are the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

Buckets = tuple[tuple[float, float], ...]  # (upper bound in seconds, cumulative count)


@dataclass(frozen=True)
class ServerCounters:
    """One scrape of one model server: its counters since it started."""

    ts: float
    requests: float
    errors: float
    rejected: float
    buckets: Buckets
    latency_sum_s: float
    queue_depth: float
    batches: float
    batch_rows: float


@dataclass(frozen=True)
class HealthSample(ServerCounters):
    """What one server answered between two scrapes, `seconds` apart (the counters'
    differences; `queue_depth` is the later reading)."""

    seconds: float


def difference(before: ServerCounters | None, now: ServerCounters,
               nominal_s: float) -> HealthSample:
    """What `now` adds to `before` (all of `now` for a first scrape or a restart)."""
    restarted = before is None or now.requests < before.requests or now.batches < before.batches
    base = ServerCounters(now.ts - nominal_s, 0, 0, 0, (), 0, 0, 0, 0) if restarted else before
    assert base is not None
    old = dict(base.buckets)
    return HealthSample(
        ts=now.ts, seconds=max(0.0, now.ts - base.ts), requests=now.requests - base.requests,
        errors=now.errors - base.errors, rejected=now.rejected - base.rejected,
        buckets=tuple((le, count - old.get(le, 0.0)) for le, count in now.buckets),
        latency_sum_s=now.latency_sum_s - base.latency_sum_s, queue_depth=now.queue_depth,
        batches=now.batches - base.batches, batch_rows=now.batch_rows - base.batch_rows)


def add_buckets(many: Sequence[Buckets]) -> Buckets:
    total: dict[float, float] = {}
    for buckets in many:
        for le, count in buckets:
            total[le] = total.get(le, 0.0) + count
    return tuple(sorted(total.items()))


def quantile(buckets: Buckets, q: float) -> float | None:
    """The q-quantile (seconds) of a cumulative histogram, interpolated in its bucket;
    None without observations; the last finite bound when it falls in +Inf."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = le, count
    return lower


@dataclass(frozen=True)
class ServingHealth:
    """A deployment's serving over a window: rates, latency quantiles, load."""

    deployment: str
    since: datetime
    until: datetime
    seconds: float
    requests: int
    errors: int
    rejected: int
    request_rate: float  # per second
    error_rate: float | None  # errors / requests (None: no requests)
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    queue_depth: float | None  # the latest reading
    batch_rows_mean: float | None
    versions: list[str] = field(default_factory=list)


def summarize(deployment: str, samples: Sequence[HealthSample], versions: list[str],
              since: datetime, until: datetime) -> ServingHealth:
    """The health over `samples` (several replicas' samples add up)."""
    requests = sum(s.requests for s in samples)
    errors = sum(s.errors for s in samples)
    buckets = add_buckets([s.buckets for s in samples])
    window = max((until - since).total_seconds(), 1e-9)
    latency = sum(s.latency_sum_s for s in samples)
    batches = sum(s.batches for s in samples)

    def ms(q: float) -> float | None:
        value = quantile(buckets, q)
        return None if value is None else 1000.0 * value

    latest = max(samples, key=lambda s: s.ts).queue_depth if samples else None
    return ServingHealth(
        deployment=deployment, since=since, until=until, seconds=window,
        requests=int(requests), errors=int(errors), rejected=int(sum(s.rejected for s in samples)),
        request_rate=requests / window, error_rate=errors / requests if requests else None,
        p50_ms=ms(0.5), p95_ms=ms(0.95), p99_ms=ms(0.99),
        mean_ms=1000.0 * latency / requests if requests else None, queue_depth=latest,
        batch_rows_mean=sum(s.batch_rows for s in samples) / batches if batches else None,
        versions=versions)
