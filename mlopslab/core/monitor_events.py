"""The monitor's events: GPU readings, their compaction, budgets, alerts, serving
health and drift.

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
    drift_sample        ts, deployment, version, instance, seq, first_row, rows: [[x0, x1, ...],
                        ...], dropped, keep_from (the served rows a server sampled)
    drift_reference     ts, model_version_id, source, rows, features: [{name, index, kind,
                        rows, counts, lo, scale, groups, categories}, ...], problem
    drift_window        ts, deployment, version, model_version_id, index, first_row, rows,
                        drifted, features: [{feature, kind, psi, ks, ..., drifted}, ...]
    drift_review        ts, id, deployment, version, model_version_id, features, message
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftSampled:
    """Rows a deployment's model server sampled from its inputs (serving/sampling.py),
    read after sequence number `seq - len(rows)` of server `instance`; they are the
    deployment version's rows `first_row`, `first_row + 1`, ... Rows before `keep_from`
    are no longer needed (checked, and past the retention)."""

    kind: ClassVar[str] = "drift_sample"
    ts: float
    deployment: str
    version: str
    instance: str
    seq: int  # the sequence number of the last row
    first_row: int
    rows: Sequence[Sequence[float]]
    dropped: int = 0  # rows the server overwrote before they were read
    keep_from: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReferenceProfiled:
    """The training data profile of a model version (core/drift.py `FeatureReference`s),
    or why there is none (`problem`)."""

    kind: ClassVar[str] = "drift_reference"
    ts: float
    model_version_id: str
    source: str
    rows: int
    features: Sequence[Mapping[str, Any]] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftWindowChecked:
    """One window of a deployment version's sampled rows compared with its reference
    (core/drift.py `FeatureScore`s)."""

    kind: ClassVar[str] = "drift_window"
    ts: float
    deployment: str
    version: str
    model_version_id: str
    index: int
    first_row: int
    rows: int
    drifted: bool
    features: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReviewOpened:
    """A deployment started drifting: a review item (no retraining is started for drift)."""

    kind: ClassVar[str] = "drift_review"
    ts: float
    id: str
    deployment: str
    version: str
    model_version_id: str
    features: Sequence[str]
    message: str


MONITOR_EVENTS = (GpuSampled, GpuHistoryCompacted, BudgetChanged, AlertRaised, AlertSeen,
                  AlertResolved, AlertAcked, AlertDelivered, ServingScraped, DriftSampled,
                  DriftReferenceProfiled, DriftWindowChecked, DriftReviewOpened)
MonitorEvent = (GpuSampled | GpuHistoryCompacted | BudgetChanged | AlertRaised | AlertSeen
                | AlertResolved | AlertAcked | AlertDelivered | ServingScraped | DriftSampled
                | DriftReferenceProfiled | DriftWindowChecked | DriftReviewOpened)
