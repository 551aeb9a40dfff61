"""The queue and the quotas as the lab service shows them (`mlopslab queue`, `quota ls`).

The policy that orders the queue is core/quotas.py; these are its answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.quotas import Capacity
from mlopslab.core.run import RunResources


@dataclass(frozen=True)
class QueueEntry:
    """A waiting or running run: `position` is its place among the waiting ones (1 starts
    next; None for a run that holds its resources), `reason` why it waits."""

    id: str
    status: str
    reason: str | None
    project: str
    user: str | None
    recipe: str
    priority: int | None
    resources: RunResources
    queued_at: datetime | None
    started_at: datetime | None
    position: int | None
    pid: int | None
    worker_pid: int | None


@dataclass(frozen=True)
class QueueView:
    """The queue: running runs first, then the waiting ones in the order they will start;
    what the cluster offers; GPU-hours used in the last 24 h per "scope:name"."""

    runs: list[QueueEntry]
    capacity: Capacity
    usage_gpu_hours_24h: dict[str, float]


@dataclass(frozen=True)
class QuotaUsage:
    """A quota in effect (limits None: no limit), where it comes from ("lab": set with
    `quota set`; "config": the lab config) and what is in use now."""

    scope: str
    name: str
    max_gpus: int | float | None
    max_runs: int | None
    gpu_hours_per_day: int | float | None
    max_time_limit_s: int | float | None
    source: str
    gpus_in_use: int | float
    runs_in_use: int
    gpu_hours_24h: float
