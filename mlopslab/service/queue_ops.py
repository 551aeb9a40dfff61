"""Service operations for the queue, quotas and GPUs (used by the CLI and the TUI)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlopslab.api import queue as api
from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import ConfigError
from mlopslab.core.events import ActionAudited, QuotaChanged
from mlopslab.core.gpus import GpuReport
from mlopslab.core.queue import QueueEntry, QueueView, QuotaUsage
from mlopslab.core.quotas import fair_order
from mlopslab.service.dispatch import Handlers
from mlopslab.service.scheduler import job_of

if TYPE_CHECKING:
    from mlopslab.service.server import LabService

LIMIT_FIELDS = ("max_gpus", "max_runs", "gpu_hours_per_day", "max_time_limit_s")


class QueueOps:
    def __init__(self, service: LabService) -> None:
        self.service = service

    def handlers(self) -> Handlers:
        return {api.QUEUE: self.op_queue, api.QUOTAS: self.op_quotas, api.QUOTA_SET: self.op_quota_set,
                api.QUOTA_CLEAR: self.op_quota_clear, api.GPUS: self.op_gpus}

    def op_queue(self) -> QueueView:
        """Waiting and running runs (waiting ones in the order they would start), and why."""
        sched = self.service.scheduler
        active = self.service.store.active_runs()
        usage = sched.usage()
        order = {job.id: i for i, job in
                 enumerate(fair_order([job_of(r) for r in active if r.status == "queued"], usage))}
        runs = [QueueEntry(id=run.id, status=run.status, reason=run.reason, project=run.project,
                           user=run.user_name, recipe=run.recipe, priority=run.priority,
                           resources=run.resources, queued_at=run.queued_at,
                           started_at=run.started_at,
                           position=order[run.id] + 1 if run.id in order else None,
                           pid=run.pid, worker_pid=run.worker_pid)
                for run in sorted(active, key=lambda r: (r.status == "queued", order.get(r.id, 0)))]
        return QueueView(runs=runs, capacity=self.service.capacity.for_address(None),
                         usage_gpu_hours_24h={f"{s}:{n}": round(v / 3600, 4)
                                              for (s, n), v in usage.items()})

    def op_quotas(self) -> list[QuotaUsage]:
        """Effective quotas, each with where it comes from and current use."""
        stored = {(q.scope, q.name) for q in self.service.store.quotas()}
        usage = self.service.scheduler.usage()
        active = [job_of(r) for r in self.service.store.active_runs()
                  if r.status in ("starting", "running")]
        rows = []
        for q in self.service.scheduler.quotas():
            mine = [j for j in active if (j.project if q.scope == "project" else j.user) == q.name]
            rows.append(QuotaUsage(
                scope=q.scope, name=q.name, max_gpus=q.max_gpus, max_runs=q.max_runs,
                gpu_hours_per_day=q.gpu_hours_per_day, max_time_limit_s=q.max_time_limit_s,
                source="lab" if (q.scope, q.name) in stored else "config",
                gpus_in_use=sum(j.demand.gpus for j in mine), runs_in_use=len(mine),
                gpu_hours_24h=round(usage.get((q.scope, q.name), 0.0) / 3600, 4)))
        return sorted(rows, key=lambda r: (r.scope, r.name))

    def op_quota_set(self, scope: str, name: str, limits: api.QuotaLimits,
                     actor: str | None = None) -> QuotaUsage:
        """Set some limits of a project's or user's stored quota (others are kept)."""
        if scope not in ("project", "user") or not name:
            raise ConfigError("a quota needs --project NAME or --user NAME")
        current = next((q for q in self.service.scheduler.quotas()
                        if (q.scope, q.name) == (scope, name)), None)
        merged = {f: getattr(current, f) if current else None for f in LIMIT_FIELDS}
        merged.update(_checked(limits.model_dump(exclude_unset=True)))
        self._write(scope, name, merged, actor, "quota.set")
        return next(q for q in self.op_quotas() if (q.scope, q.name) == (scope, name))

    def op_quota_clear(self, scope: str, name: str, actor: str | None = None) -> bool:
        """Remove the stored quota (the config's, if any, applies again)."""
        self._write(scope, name, None, actor, "quota.clear")
        return True

    def op_gpus(self) -> GpuReport:
        """The latest GPU snapshot and which run or deployment owns each GPU process."""
        watchdog, sampler = self.service.watchdog, self.service.monitor.sampler
        snap = watchdog.snapshot()
        owners = watchdog.owners(snap)
        for pid, owner in sampler.owners.items():  # the monitor also knows deployments' replicas
            owners.setdefault(str(pid), owner)
        return GpuReport(snapshot=snap, owners=owners, kills=watchdog.kills[-20:])

    def _write(self, scope: str, name: str, limits: dict[str, Any] | None, actor: str | None,
               action: str) -> None:
        now = time.time()
        self.service.writer.write(None, [
            QuotaChanged(scope=scope, name=name, limits=limits, ts=now, actor=actor),
            ActionAudited(ts=now, actor=actor, action=action, target=f"{scope}:{name}",
                          detail={"limits": limits}),
        ])
        self.service.scheduler.wake()


def _checked(limits: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in limits.items():
        if key == "max_time_limit":
            key, value = "max_time_limit_s", None if value is None else _seconds(value)
        if key not in LIMIT_FIELDS:
            raise ConfigError(f"unknown quota limit '{key}'", f"use one of {', '.join(LIMIT_FIELDS)}")
        if value is not None:
            value = int(value) if key == "max_runs" else float(value)
            if value < 0:
                raise ConfigError(f"quota {key} must be >= 0, not {value}")
        out[key] = value
    return out


def _seconds(value: Any) -> float:
    try:
        return parse_duration(str(value))
    except ValueError as e:
        raise ConfigError(f"--max-time-limit: {e}") from None
