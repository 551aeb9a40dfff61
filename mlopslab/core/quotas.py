"""Quotas and the fair queue: which waiting runs may start now, and why the rest wait.

Pure logic over plain values; the lab service feeds it the store's runs, the
quotas and the cluster's capacity (service/scheduler.py). docs/scheduling.md
explains the policy:

1. A run whose own request can never fit (more GPUs than its quota or the cluster
   has, a time limit over the quota's maximum) is rejected at submission.
2. Waiting runs are considered in order: priority (higher first), then fair share
   (the user, then the project, with the least GPU time in the last 24 h first),
   then submission time.
3. A run over a quota of its project or user waits and lets others pass.
4. A run that fits its quotas but not the free capacity reserves what it waits
   for: later runs may only use what is left after it, so it cannot starve.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mlopslab.core.durations import parse_duration
from mlopslab.core.run import RunResources

DAY_S = 24 * 3600.0
SCOPES = ("project", "user")


@dataclass(frozen=True)
class Demand:
    """What one run asks for (per step; steps run one at a time)."""

    gpus: float = 0.0
    cpus: float = 1.0
    time_limit_s: float | None = None

    @classmethod
    def of(cls, resources: RunResources) -> Demand:
        """What a run with these resources asks for."""
        limit = resources.time_limit
        return cls(gpus=resources.gpus, cpus=resources.cpus,
                   time_limit_s=parse_duration(limit) if limit else None)


@dataclass(frozen=True)
class Quota:
    """Limits for one project or user. None: no limit."""

    scope: str  # "project" | "user"
    name: str
    max_gpus: float | None = None
    max_runs: int | None = None
    gpu_hours_per_day: float | None = None
    max_time_limit_s: float | None = None


@dataclass(frozen=True)
class Job:
    """A queued or active run as the scheduler sees it."""

    id: str
    project: str
    user: str
    demand: Demand
    priority: int = 0
    queued_at: float = 0.0


@dataclass(frozen=True)
class Capacity:
    """Whole GPUs and CPUs of the cluster the lab runs on."""

    gpus: int
    cpus: float


@dataclass
class Decision:
    start: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)


def rejection(demand: Demand, quotas: list[Quota], capacity: Capacity) -> str | None:
    """Why `demand` can never run here, or None when it can (eventually)."""
    if demand.gpus > capacity.gpus:
        return f"asks for {_gpus(demand.gpus)} but the cluster has {capacity.gpus}"
    if demand.cpus > capacity.cpus:
        return f"asks for {_n(demand.cpus, 'CPU')} but the cluster has {capacity.cpus:g}"
    for q in quotas:
        if q.max_gpus is not None and demand.gpus > q.max_gpus:
            return f"asks for {_gpus(demand.gpus)} but {q.scope} '{q.name}' may use {q.max_gpus:g}"
        if q.max_runs is not None and q.max_runs < 1:
            return f"{q.scope} '{q.name}' may run no runs (max_runs = 0)"
        if (q.max_time_limit_s is not None and demand.time_limit_s is not None
                and demand.time_limit_s > q.max_time_limit_s):
            return (f"asks for a time limit of {_hours(demand.time_limit_s)} but {q.scope} "
                    f"'{q.name}' allows at most {_hours(q.max_time_limit_s)}")
    return None


def default_time_limit(demand: Demand, quotas: list[Quota]) -> float | None:
    """The time limit a run gets: its own, else the tightest quota maximum."""
    if demand.time_limit_s is not None:
        return demand.time_limit_s
    limits = [q.max_time_limit_s for q in quotas if q.max_time_limit_s is not None]
    return min(limits) if limits else None


def applicable(quotas: list[Quota], project: str, user: str) -> list[Quota]:
    return [q for q in quotas if (q.scope, q.name) in (("project", project), ("user", user))]


def fair_order(queued: list[Job], usage: dict[tuple[str, str], float]) -> list[Job]:
    """Priority, then least recent GPU time (user, then project), then submission."""
    return sorted(queued, key=lambda j: (
        -j.priority, usage.get(("user", j.user), 0.0), usage.get(("project", j.project), 0.0),
        j.queued_at, j.id))


def schedule(queued: list[Job], active: list[Job], quotas: list[Quota], capacity: Capacity,
             usage: dict[tuple[str, str], float], others: list[Job] | None = None) -> Decision:
    """Which queued runs start now, and for the others a one-line reason.

    `active`: runs holding resources on this cluster; `others`: runs holding resources
    elsewhere (they count against quotas, not against this cluster's capacity).
    """
    pool = _Pool(capacity, active)
    in_use: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for job in [*active, *(others or [])]:
        for key in zip(SCOPES, (job.project, job.user), strict=True):
            in_use[key][0] += job.demand.gpus
            in_use[key][1] += 1
    decision = Decision()
    for job in fair_order(queued, usage):
        never = rejection(job.demand, [], capacity)  # the cluster shrank since it was admitted
        if never:
            decision.waiting[job.id] = f"cannot start on this cluster: it {never}"
            continue
        blocked = _quota_block(job, applicable(quotas, job.project, job.user), in_use, usage)
        if blocked:
            decision.waiting[job.id] = blocked
            continue
        short = pool.shortfall(job.demand)
        if short:
            decision.waiting[job.id] = f"waiting for {short}"
            pool.reserve(job)
            continue
        pool.take(job.demand)
        for key in zip(SCOPES, (job.project, job.user), strict=True):
            in_use[key][0] += job.demand.gpus
            in_use[key][1] += 1
        decision.start.append(job.id)
    return decision


def _quota_block(job: Job, quotas: list[Quota], in_use: dict[tuple[str, str], list[float]],
                 usage: dict[tuple[str, str], float]) -> str | None:
    for q in quotas:
        gpus, runs = in_use[(q.scope, q.name)]
        who = f"{q.scope} '{q.name}'"
        if q.max_runs is not None and runs + 1 > q.max_runs:
            return f"quota: {who} runs {int(runs)} of at most {_n(q.max_runs, 'run')}"
        if q.max_gpus is not None and job.demand.gpus and gpus + job.demand.gpus > q.max_gpus + 1e-9:
            return f"quota: {who} uses {gpus:g} of {_gpus(q.max_gpus)}"
        used_h = usage.get((q.scope, q.name), 0.0) / 3600.0
        if q.gpu_hours_per_day is not None and job.demand.gpus and used_h >= q.gpu_hours_per_day:
            return (f"quota: {who} used {used_h:.2f} of {q.gpu_hours_per_day:g} GPU-hours "
                    "in the last 24 h")
    return None


class _Pool:
    """Free capacity, per GPU as Ray places it: whole GPUs for whole requests,
    fractions on the fullest GPU that still fits (best fit)."""

    def __init__(self, capacity: Capacity, active: list[Job]) -> None:
        self.free = [1.0] * capacity.gpus
        self.cpus = capacity.cpus
        self.gpus_held_for: str | None = None  # a GPU run ahead in the queue that waits
        for job in sorted(active, key=lambda j: -j.demand.gpus):
            self.take(job.demand)

    def shortfall(self, demand: Demand) -> str | None:
        wants: list[str] = []
        if demand.gpus and self.gpus_held_for:
            wants.append(f"{_gpus(demand.gpus)} (free GPUs are held for {self.gpus_held_for}, "
                         "ahead in the queue)")
        elif demand.gpus and self._place(demand.gpus) is None:
            wants.append(f"{_gpus(demand.gpus)} ({self._free_text()})")
        if demand.cpus > self.cpus + 1e-9:
            wants.append(f"{_n(demand.cpus, 'CPU')} ({max(self.cpus, 0):g} free)")
        return " and ".join(wants) or None

    def reserve(self, job: Job) -> None:
        self.cpus -= job.demand.cpus
        if job.demand.gpus and self.gpus_held_for is None:
            self.gpus_held_for = job.id

    def take(self, demand: Demand) -> None:
        """Hold `demand`. A running run the model cannot place (Ray placed it otherwise)
        still holds its CPUs; its GPUs are not counted twice."""
        self.cpus -= demand.cpus
        slots = self._place(demand.gpus) if demand.gpus else None
        if slots is None:
            return
        share = demand.gpus if demand.gpus < 1 else 1.0
        for i in slots:
            self.free[i] -= share

    def _place(self, gpus: float) -> list[int] | None:
        if gpus >= 1:
            whole = [i for i, f in enumerate(self.free) if f >= 1 - 1e-9]
            return whole[: int(gpus)] if len(whole) >= gpus else None
        fits = [(f, i) for i, f in enumerate(self.free) if f + 1e-9 >= gpus]
        return [min(fits)[1]] if fits else None

    def _free_text(self) -> str:
        whole = sum(1 for f in self.free if f >= 1 - 1e-9)
        part = max(self.free, default=0.0)
        text = f"{whole} of {len(self.free)} free"
        return text + (f", {part:.2g} of one" if 0 < part < 1 else "")


def gpu_seconds(spans: list[tuple[str, str, float, float, float | None]], now: float,
                window_s: float = DAY_S) -> dict[tuple[str, str], float]:
    """GPU-seconds per (scope, name) in the last `window_s`.

    `spans`: (project, user, gpus, started_at, ended_at or None while running).
    """
    since = now - window_s
    used: dict[tuple[str, str], float] = defaultdict(float)
    for project, user, gpus, started, ended in spans:
        overlap = min(ended if ended is not None else now, now) - max(started, since)
        if gpus > 0 and overlap > 0:
            used[("project", project)] += gpus * overlap
            used[("user", user)] += gpus * overlap
    return dict(used)


def _gpus(n: float) -> str:
    return _n(n, "GPU")


def _n(n: float, noun: str) -> str:
    """`1 GPU`, `0.5 GPU`, `2 GPUs`, `0 runs`."""
    return f"{n:g} {noun}" + ("" if 0 < n <= 1 else "s")


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g}h"
    if seconds >= 60:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
