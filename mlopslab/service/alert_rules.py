"""The alert rules the lab service runs every `[monitor] alerts_interval_s`.

Each rule reads the store (or the latest GPU reading) and yields the conditions
that hold now; core/alerts.py `reconcile` keeps one alert per rule and subject.

    rule            subject                 holds while
    idle_gpu        run:ID                  a running run's GPUs were busy less than
                                            idle_gpu_pct over the last idle_gpu_after
    gpu_memory      gpu:INDEX               a GPU's memory is over gpu_memory_pct full
    budget          project:P daily DAY N%  spend crossed N% of a budget this period
    run_lost        run:ID                  (sticky) a run failed because its process vanished
    rolled_back     deployment:NAME@TS      (sticky) a deployment rolled back by itself
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlopslab.config import LabConfig
from mlopslab.core.alerts import Condition
from mlopslab.core.budgets import BudgetUse, budget_conditions
from mlopslab.core.durations import parse_duration
from mlopslab.core.gpus import GpuSnapshot
from mlopslab.store import monitor_queries as q

if TYPE_CHECKING:
    from mlopslab.store.db import Store

LOOKBACK_S = 86_400.0  # occurrences (lost runs, rollbacks) older than this raise nothing
COVERAGE = 0.8  # share of a window the GPUs must have been read in to call a run idle


class AlertRules:
    def __init__(self, store: Store, config: LabConfig,
                 latest: Callable[[], GpuSnapshot | None],
                 budget_uses: Callable[[], list[BudgetUse]]) -> None:
        self.store, self.config = store, config
        self.latest, self.budget_uses = latest, budget_uses
        self.extra: list[Callable[[float], list[Condition]]] = []  # rules of other rooms (drift)

    def conditions(self, now: float | None = None) -> list[Condition]:
        now = time.time() if now is None else now
        return [*self.idle_gpus(now), *self.gpu_memory(), *self.lost_runs(now),
                *self.rolled_back(now),
                *budget_conditions(self.budget_uses(), self.config.cost.budget_alerts_pct,
                                   datetime.fromtimestamp(now, UTC)),
                *(c for rule in self.extra for c in rule(now))]

    def idle_gpus(self, now: float) -> list[Condition]:
        m = self.config.monitor
        window = parse_duration(m.idle_gpu_after)
        held = [(i, g) for i, started, g in q.running_gpu_runs(self.store) if now - started >= window]
        if not held:
            return []
        sampled = q.sampled_seconds(self.store, now - window)
        if sampled < COVERAGE * window:
            return []  # the GPUs were not read (no driver, or the service just started)
        busy = q.busy_since(self.store, now - window, [i for i, _ in held])
        found = []
        for run_id, gpus in held:
            pct = 100.0 * busy.get(run_id, 0.0) / (gpus * sampled)
            if pct < m.idle_gpu_pct:
                found.append(Condition(
                    "idle_gpu", f"run:{run_id}", "warning",
                    f"run {run_id} holds {gpus:g} GPU(s) but they were {pct:.1f}% busy over "
                    f"the last {m.idle_gpu_after}",
                    {"run_id": run_id, "gpus": gpus, "busy_pct": round(pct, 2)}))
        return found

    def gpu_memory(self) -> list[Condition]:
        snap = self.latest()
        if snap is None or time.time() - snap.ts > 60:
            return []
        limit = self.config.monitor.gpu_memory_pct
        return [Condition("gpu_memory", f"gpu:{d.index}", "warning",
                          f"GPU {d.index} ({d.name}) memory {d.memory_pct:.0f}% full",
                          {"device": d.index, "memory_pct": round(d.memory_pct, 1)})
                for d in snap.devices if d.memory_pct >= limit]

    def lost_runs(self, now: float) -> list[Condition]:
        return [Condition("run_lost", f"run:{run_id}", "critical",
                          f"run {run_id} ({project}) was lost: {reason}",
                          {"run_id": run_id, "project": project}, sticky=True)
                for run_id, project, reason in q.lost_runs(self.store, now - LOOKBACK_S)]

    def rolled_back(self, now: float) -> list[Condition]:
        return [Condition("rolled_back", f"deployment:{name}@{ts.isoformat()}", "critical",
                          f"deployment {name} rolled back to {version}: {reason or 'unhealthy'}",
                          {"deployment": name, "version": version}, sticky=True)
                for name, ts, version, reason in q.rollbacks(self.store, now - LOOKBACK_S)]
