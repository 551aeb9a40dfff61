"""The queue inside the lab service: admitting runs under quotas and capacity.

Submitting a run only records it as `queued`. The scheduler thread decides, on
every wake-up (a submission, a run ending, a cancel, a quota change) and at least
every second, which queued runs start (core/quotas.py holds the policy) and
records why each of the others waits. Started runs become `starting` and get a
run process; the run process marks them `running`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import ResourceError
from mlopslab.core.quotas import (
    DAY_S,
    Demand,
    Job,
    Quota,
    applicable,
    default_time_limit,
    gpu_seconds,
    rejection,
    schedule,
)
from mlopslab.core.run import Run, RunResources, RunSpec
from mlopslab.core.runs import HOLDING, run_update

if TYPE_CHECKING:
    from mlopslab.config import LabConfig
    from mlopslab.service.capacity import CapacityOracle
    from mlopslab.service.runs import RunManager
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

TICK_S = 1.0


class Scheduler:
    def __init__(self, config: LabConfig, store: Store, writer: GroupWriter, runs: RunManager,
                 capacity: CapacityOracle) -> None:
        self.config, self.store, self.writer = config, store, writer
        self.runs, self.capacity = runs, capacity
        self._wake = threading.Event()
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()
        self.passes = 0
        # why runs of a project or user must wait for a hard budget (the monitor sets it)
        self.budget_block: Callable[[str, str | None], str | None] = lambda project, user: None

    # called by the service's operations ----------------------------------

    def admit(self, spec: RunSpec) -> RunResources:
        """Reject a request that can never fit; give the run its effective resources."""
        resources = spec.resources
        demand = Demand.of(resources)
        quotas = applicable(self.quotas(), spec.project, spec.user or "")
        address = spec.options.ray_address
        why = rejection(demand, quotas, self.capacity.for_address(address))
        if why:
            raise ResourceError(f"run rejected: it {why}",
                                "ask for less (--gpus, --time-limit), or change the quota "
                                "(mlopslab quota set) or the cluster (mlopslab lab start --gpus N)")
        limit = default_time_limit(demand, quotas)
        if limit is not None and not resources.time_limit:
            resources = replace(resources, time_limit=f"{limit:g}s")
        return resources

    def wake(self) -> None:
        self._wake.set()

    def quotas(self) -> list[Quota]:
        """Quotas from the lab config, overridden per project/user by `quota set`."""
        found: dict[tuple[str, str], Quota] = {}
        for scope in ("project", "user"):
            for name, limits in getattr(self.config.quotas, scope).items():
                found[(scope, name)] = Quota(
                    scope, name, limits.max_gpus, limits.max_runs, limits.gpu_hours_per_day,
                    parse_duration(limits.max_time_limit) if limits.max_time_limit else None)
        for quota in self.store.quotas():
            found[(quota.scope, quota.name)] = quota
        return list(found.values())

    def usage(self, now: float | None = None) -> dict[tuple[str, str], float]:
        """GPU-seconds per project and user in the last 24 h."""
        now = now or time.time()
        since = utc_naive(now - DAY_S)
        spans = [(r["project"], r["user_name"] or "", RunResources.from_json(r["resources"]).gpus,
                  _epoch(r["started_at"]), _epoch(r["ended_at"]) if r["ended_at"] else None)
                 for r in self.store.gpu_spans(since)]
        return gpu_seconds(spans, now)

    # the loop -----------------------------------------------------------

    def loop(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            if stopping.is_set():
                return
            try:
                self.tick()
            except Exception as e:  # noqa: BLE001 - the queue must keep going
                print(f"scheduler pass failed: {e!r}", file=sys.stderr, flush=True)

    def tick(self) -> list[str]:
        """One scheduling pass; returns the ids of the runs it started."""
        with self._lock:
            self.passes += 1
            active = self.store.active_runs()
            if not any(r.status == "queued" for r in active):
                self._reasons.clear()
                return []
            started: list[str] = []
            quotas, usage = self.quotas(), self.usage()
            for address, queued, holding, others in _by_cluster(active):
                held_back = {j.id: why for j in queued
                             if (why := self.budget_block(j.project, j.user or None))}
                decision = schedule([j for j in queued if j.id not in held_back], holding, quotas,
                                    self.capacity.for_address(address), usage, others)
                decision.waiting.update(held_back)
                for run_id in decision.start:
                    self._reasons.pop(run_id, None)
                    self.runs.start(run_id)
                    started.append(run_id)
                self._record_reasons(decision.waiting)
            return started

    def _record_reasons(self, waiting: dict[str, str]) -> None:
        changed = [run_update(run_id, only_if=("queued",), reason=reason)
                   for run_id, reason in waiting.items() if self._reasons.get(run_id) != reason]
        if changed:
            self.writer.write(None, changed)
        self._reasons.update(waiting)


def job_of(run: Run) -> Job:
    return Job(run.id, run.project, run.user_name or "", Demand.of(run.resources),
               int(run.priority or 0), run.waiting_since.timestamp())


def _by_cluster(active: list[Run]) -> list[tuple[str | None, list[Job], list[Job], list[Job]]]:
    """Per Ray cluster (a run may name its own): its queued and holding runs, and the
    runs holding resources on other clusters (they still count against quotas)."""
    def address(run: Run) -> str | None:
        return run.options.ray_address

    groups = []
    for addr in sorted({address(r) for r in active}, key=lambda a: a or ""):
        mine = [r for r in active if address(r) == addr]
        queued = [job_of(r) for r in mine if r.status == "queued"]
        if not queued:
            continue
        holding = [job_of(r) for r in mine if r.status in HOLDING]
        others = [job_of(r) for r in active if address(r) != addr and r.status in HOLDING]
        groups.append((addr, queued, holding, others))
    return groups


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()
