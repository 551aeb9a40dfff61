"""The monitor's events: GPU readings, their compaction, budgets and alerts.

They are store events like those of core/events.py (which includes them in `Event`
and its codec) and go through the same group writer; the lab service makes them.

    kind                wire keys (besides kind)
    gpu_sample          ts, devices: [[index, uuid, name, util, mem_used, mem_total,
                        power_w, temperature_c, seconds], ...], usage: [[device, gpu_name,
                        owner_kind, owner_id, seconds, busy_s, energy_j, memory], ...]
    gpu_compact         minute_before, hour_before, drop_before (epoch seconds)
    budget              scope, name, daily, monthly, hard (daily and monthly null and
                        removed true: the budget is removed), ts, actor
    alert_raised        id, rule, subject, severity, message, detail, sticky, ts
    alert_seen          id, ts, message, count
    alert_resolved      id, ts
    alert_acked         id, ts, actor
    alert_delivery      id, channel, event, ok, error, ts
    serving_scrape      ts, deployment, version, seconds, requests, errors, rejected,
                        buckets: [[le, cumulative count], ...], latency_sum_s, queue_depth,
                        batches, batch_rows (differences from the previous scrape)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

DeviceRow = Sequence[Any]  # index, uuid, name, util, mem_used, mem_total, power, temp, seconds
UsageRow = Sequence[Any]  # device, gpu_name, owner_kind, owner_id, seconds, busy_s, energy_j, memory


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuSampled:
    """One reading of every GPU, and each owner's share of it (core/gpu_usage.py)."""

    kind: ClassVar[str] = "gpu_sample"
    ts: float
    devices: Sequence[DeviceRow]
    usage: Sequence[UsageRow] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuHistoryCompacted:
    """Raw readings before `minute_before` became 1-minute rollups, 1-minute rollups
    before `hour_before` 1-hour ones, and everything before `drop_before` went."""

    kind: ClassVar[str] = "gpu_compact"
    minute_before: float
    hour_before: float
    drop_before: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetChanged:
    """A budget of a project or user was set, or removed (`removed`)."""

    kind: ClassVar[str] = "budget"
    scope: str
    name: str
    daily: float | None = None
    monthly: float | None = None
    hard: bool = False
    removed: bool = False
    ts: float
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRaised:
    kind: ClassVar[str] = "alert_raised"
    id: str
    rule: str
    subject: str
    severity: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    sticky: bool = False
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertSeen:
    """An open alert's condition still holds: `count` more sightings, the latest text."""

    kind: ClassVar[str] = "alert_seen"
    id: str
    ts: float
    message: str
    count: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertResolved:
    kind: ClassVar[str] = "alert_resolved"
    id: str
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertAcked:
    kind: ClassVar[str] = "alert_acked"
    id: str
    ts: float
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertDelivered:
    """One try to deliver an alert's `event` (raised, resolved) to a channel."""

    kind: ClassVar[str] = "alert_delivery"
    id: str
    channel: str
    event: str
    ok: bool
    error: str | None = None
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ServingScraped:
    """What one model server answered since the previous scrape (core/serving_health.py)."""

    kind: ClassVar[str] = "serving_scrape"
    ts: float
    deployment: str
    version: str
    seconds: float
    requests: float
    errors: float
    rejected: float
    buckets: Sequence[Sequence[Any]]  # [upper bound ("+Inf" for the last), cumulative count]
    latency_sum_s: float
    queue_depth: float
    batches: float
    batch_rows: float


MONITOR_EVENTS = (GpuSampled, GpuHistoryCompacted, BudgetChanged, AlertRaised, AlertSeen,
                  AlertResolved, AlertAcked, AlertDelivered, ServingScraped)
MonitorEvent = (GpuSampled | GpuHistoryCompacted | BudgetChanged | AlertRaised | AlertSeen
                | AlertResolved | AlertAcked | AlertDelivered | ServingScraped)
