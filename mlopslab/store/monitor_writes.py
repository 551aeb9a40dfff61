"""Monitor events: GPU readings and their rollups, budgets, alerts, alert deliveries.

Applied inside the service's group transaction like every other event kind
(store/writes.py). Compaction *moves* rows (raw readings into 1-minute rollups,
1-minute into 1-hour ones) in one transaction, so a sum over all resolutions counts
every reading exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.monitor_events import (
    AlertAcked,
    AlertDelivered,
    AlertRaised,
    AlertResolved,
    AlertSeen,
    BudgetChanged,
    GpuHistoryCompacted,
    GpuSampled,
    ServingScraped,
)

if TYPE_CHECKING:
    import duckdb

MINUTE, HOUR = 60.0, 3600.0


def _values(rows: int, width: int) -> str:
    one = "(" + ", ".join("?" for _ in range(width)) + ")"
    return ", ".join(one for _ in range(rows))


def _gpu_sample(con: duckdb.DuckDBPyConnection, event: GpuSampled) -> None:
    at = utc_naive(event.ts)
    if event.devices:
        con.execute(f"INSERT INTO gpu_samples VALUES {_values(len(event.devices), 10)}",  # noqa: S608
                    [v for row in event.devices for v in (at, *row)])
    if event.usage:
        con.execute(f"INSERT INTO gpu_usage VALUES {_values(len(event.usage), 10)}",  # noqa: S608
                    [v for row in event.usage for v in (at, "raw", *row)])


_ROLL_SAMPLES = """
    INSERT INTO gpu_samples_rollup
    SELECT ?, time_bucket(INTERVAL {width}, {ts}) AS b, device, any_value(uuid), any_value(name),
           sum({samples}), sum(seconds),
           sum({util} * seconds) / nullif(sum(seconds), 0), max({util_max}),
           sum({mem} * seconds) / nullif(sum(seconds), 0), max({mem_max}), max(memory_total),
           sum({power} * seconds) / nullif(sum(seconds), 0), sum({energy}), max({temp})
    FROM {table} WHERE {ts} < ? {extra} GROUP BY b, device
"""
_RAW = dict(ts="ts", samples="1", util="utilization_pct", util_max="utilization_pct",
            mem="memory_used", mem_max="memory_used", power="power_w",
            energy="coalesce(power_w, 0) * seconds", temp="temperature_c", table="gpu_samples",
            extra="")
_MINUTES = dict(ts="bucket", samples="samples", util="utilization_avg", util_max="utilization_max",
                mem="memory_used_avg", mem_max="memory_used_max", power="power_avg",
                energy="energy_j", temp="temperature_max", table="gpu_samples_rollup",
                extra="AND resolution = '1m'")
_ROLL_USAGE = """
    INSERT INTO gpu_usage
    SELECT time_bucket(INTERVAL {width}, ts) AS b, ?, device, gpu_name, owner_kind, owner_id,
           sum(seconds), sum(busy_s), sum(energy_j), max(memory_max)
    FROM gpu_usage WHERE resolution = ? AND ts < ?
    GROUP BY b, device, gpu_name, owner_kind, owner_id
"""


def _compact(con: duckdb.DuckDBPyConnection, event: GpuHistoryCompacted) -> None:
    minute = utc_naive(event.minute_before // MINUTE * MINUTE)
    hour = utc_naive(event.hour_before // HOUR * HOUR)
    con.execute(_ROLL_SAMPLES.format(width="1 minute", **_RAW), ["1m", minute])  # noqa: S608
    con.execute("DELETE FROM gpu_samples WHERE ts < ?", [minute])
    con.execute(_ROLL_SAMPLES.format(width="1 hour", **_MINUTES), ["1h", hour])  # noqa: S608
    con.execute("DELETE FROM gpu_samples_rollup WHERE resolution = '1m' AND bucket < ?", [hour])
    for width, source, target, before in (("1 minute", "raw", "1m", minute),
                                          ("1 hour", "1m", "1h", hour)):
        con.execute(_ROLL_USAGE.format(width=width), [target, source, before])  # noqa: S608
        con.execute("DELETE FROM gpu_usage WHERE resolution = ? AND ts < ?", [source, before])
    if event.drop_before is not None:
        drop = utc_naive(event.drop_before)
        con.execute("DELETE FROM gpu_samples_rollup WHERE bucket < ?", [drop])
        con.execute("DELETE FROM gpu_usage WHERE ts < ?", [drop])


def _budget(con: duckdb.DuckDBPyConnection, event: BudgetChanged) -> None:
    con.execute("DELETE FROM budgets WHERE scope = ? AND name = ?", [event.scope, event.name])
    if not event.removed:
        con.execute("INSERT INTO budgets VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [event.scope, event.name, event.daily, event.monthly, event.hard,
                     utc_naive(event.ts), event.actor])


def _alert_raised(con: duckdb.DuckDBPyConnection, event: AlertRaised) -> None:
    at = utc_naive(event.ts)
    con.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, 1, NULL, NULL, NULL)",
                [event.id, event.rule, event.subject, event.severity, event.message,
                 json.dumps(dict(event.detail)), event.sticky, at, at])


def _alert_seen(con: duckdb.DuckDBPyConnection, event: AlertSeen) -> None:
    con.execute("UPDATE alerts SET last_seen = ?, count = count + ?, message = ? "
                "WHERE id = ? AND status <> 'resolved'",
                [utc_naive(event.ts), event.count, event.message, event.id])


def _alert_resolved(con: duckdb.DuckDBPyConnection, event: AlertResolved) -> None:
    con.execute("UPDATE alerts SET status = 'resolved', resolved_at = ? "
                "WHERE id = ? AND status <> 'resolved'", [utc_naive(event.ts), event.id])


def _alert_acked(con: duckdb.DuckDBPyConnection, event: AlertAcked) -> None:
    """An acknowledged alert stays until it clears; a sticky one (an occurrence) ends."""
    at = utc_naive(event.ts)
    con.execute("UPDATE alerts SET acked_at = ?, acked_by = ?, "
                "status = CASE WHEN sticky THEN 'resolved' ELSE 'acked' END, "
                "resolved_at = CASE WHEN sticky THEN ? ELSE resolved_at END "
                "WHERE id = ? AND status = 'open'", [at, event.actor, at, event.id])


def _alert_delivery(con: duckdb.DuckDBPyConnection, event: AlertDelivered) -> None:
    at = utc_naive(event.ts)
    con.execute(
        "INSERT INTO alert_deliveries VALUES (?, ?, ?, 1, ?, ?, ?) "
        "ON CONFLICT (alert_id, channel, event) DO UPDATE SET attempts = attempts + 1, "
        "delivered_at = coalesce(alert_deliveries.delivered_at, excluded.delivered_at), "
        "last_error = excluded.last_error, updated_at = excluded.updated_at",
        [event.id, event.channel, event.event, at if event.ok else None, event.error, at])


def _serving_scrape(con: duckdb.DuckDBPyConnection, event: ServingScraped) -> None:
    con.execute("INSERT INTO serving_health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [utc_naive(event.ts), event.deployment, event.version, event.seconds,
                 int(event.requests), int(event.errors), int(event.rejected),
                 json.dumps([list(b) for b in event.buckets]), event.latency_sum_s,
                 event.queue_depth, int(event.batches), int(event.batch_rows)])


MONITOR_WRITERS: Mapping[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    BudgetChanged: _budget,
    AlertRaised: _alert_raised,
    AlertSeen: _alert_seen,
    AlertResolved: _alert_resolved,
    AlertAcked: _alert_acked,
    AlertDelivered: _alert_delivery,
    GpuSampled: _gpu_sample,
    GpuHistoryCompacted: _compact,
    ServingScraped: _serving_scrape,
}
