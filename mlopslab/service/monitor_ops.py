"""The monitor inside the lab service: GPU sampling, alert rules and alert delivery
(three threads), and the operations that read what they found (api/monitor.py).
See docs/monitoring.md."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlopslab.api import monitor as api
from mlopslab.config import LabConfig
from mlopslab.core.alerts import Alert, reconcile
from mlopslab.core.budgets import Budget, BudgetUse, blocking
from mlopslab.core.cost import CostLine, CostReport, Rates, tally
from mlopslab.core.errors import NotFound
from mlopslab.core.events import ActionAudited
from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.gpus import GpuOwner, GpuSource
from mlopslab.core.monitor_events import AlertAcked, AlertDelivered, AlertRaised, AlertResolved, BudgetChanged
from mlopslab.monitor.delivery import Channel, channels
from mlopslab.monitor.sampler import GpuSampler
from mlopslab.service.alert_rules import AlertRules
from mlopslab.service.dispatch import Handlers
from mlopslab.service.loops import every
from mlopslab.store import monitor_queries as q

if TYPE_CHECKING:
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

DELIVERY_INTERVAL_S = 2.0
BLOCK_CACHE_S = 5.0
DELIVERY_LOOKBACK_S = 86_400.0


class MonitorOps:
    def __init__(self, config: LabConfig, store: Store, writer: GroupWriter, source: GpuSource,
                 roots: Callable[[], dict[int, GpuOwner]], wake: Callable[[], None]) -> None:
        self.config, self.store, self.writer, self.wake = config, store, writer, wake
        self.sampler = GpuSampler(source, roots, config.monitor)
        self.rules = AlertRules(store, config, lambda: self.sampler.latest, self.budget_uses)
        self.channels: list[Channel] = channels(config.alerts)
        self._hard: tuple[float, dict[tuple[str, str], BudgetUse]] = (float("-inf"), {})
        c = config.cost
        self.rates = Rates(dict(c.gpu_hourly), c.cpu_hourly, c.memory_gb_hourly, c.energy_kwh,
                           c.currency)

    def handlers(self) -> Handlers:
        return {api.GPU_HISTORY: self.op_gpu_history, api.GPU_USE: self.op_gpu_use,
                api.COST: self.op_cost, api.BUDGETS: self.op_budgets,
                api.BUDGET_SET: self.op_budget_set, api.BUDGET_CLEAR: self.op_budget_clear,
                api.ALERTS: self.op_alerts, api.ALERT_ACK: self.op_alert_ack}

    def threads(self, stopping: threading.Event) -> list[tuple[str, Callable[[], None]]]:
        found = [("gpu-sampler", lambda: self.sample_loop(stopping)),
                 ("alerts", lambda: self.alert_loop(stopping))]
        for channel in self.channels:  # one thread each: a slow one holds up no other
            found.append((f"alerts-to-{channel.name}",
                          lambda c=channel: self.delivery_loop(c, stopping)))  # type: ignore[misc]
        return found

    # the loops --------------------------------------------------------------

    def sample_loop(self, stopping: threading.Event) -> None:
        every(self.config.monitor.interval_s, stopping, "GPU sampling", self.sample)

    def sample(self) -> None:
        events = [e for e in (self.sampler.tick(), self.sampler.compaction()) if e]
        if events:
            self.writer.submit(None, events)  # never waits on the commit

    def alert_loop(self, stopping: threading.Event) -> None:
        every(self.config.monitor.alerts_interval_s, stopping, "alert rules", self.evaluate)

    def evaluate(self, now: float | None = None) -> list[Any]:
        """Run the rules once and write what changed; the events written."""
        now = time.time() if now is None else now
        events = reconcile(q.live_alerts(self.store), self.rules.conditions(now), now)
        if events:
            self.writer.write(None, events)
            for e in events:
                if isinstance(e, AlertRaised | AlertResolved):
                    _say(e)
        return events

    def delivery_loop(self, channel: Channel, stopping: threading.Event) -> None:
        every(DELIVERY_INTERVAL_S, stopping, f"alert delivery to {channel.name}",
              lambda: self.deliver(channel))

    def deliver(self, channel: Channel, now: float | None = None) -> int:
        """Try every undelivered alert once on `channel`; how many were delivered."""
        now = time.time() if now is None else now
        delivered = 0
        for alert, event in q.undelivered(self.store, channel.name, now - DELIVERY_LOOKBACK_S,
                                          now - self.config.alerts.retry_s):
            error = channel.send(payload(alert, event, self.config.lab.name))
            if error:
                print(f"alert {alert.id} not delivered to {channel.name}: {error}",
                      file=sys.stderr, flush=True)
            self.writer.write(None, [AlertDelivered(id=alert.id, channel=channel.name,
                                                    event=event, ok=error is None,
                                                    error=error, ts=time.time())])
            delivered += error is None
        return delivered

    # operations ---------------------------------------------------------------

    def op_gpu_history(self, since: float, device: int | None = None) -> list[GpuPoint]:
        return q.gpu_history(self.store, since, device)

    def op_gpu_use(self, ids: list[str], kind: str = "run") -> list[OwnerGpuUse]:
        found = q.owner_use(self.store, kind, ids)
        return [found[i] for i in ids if i in found]

    def op_cost(self, by: str = "project", since: float | None = None,
                until: float | None = None) -> CostReport:
        now = time.time()
        return CostReport(by=by, since=_when(since), until=datetime.fromtimestamp(until or now, UTC),
                          currency=self.rates.currency, lines=self.lines(by, since, until))

    def lines(self, by: str, since: float | None, until: float | None = None) -> list[CostLine]:
        return tally(self.rates, by, q.holdings(self.store, since), q.uses(self.store, since, until),
                     since, until)

    def budget_uses(self) -> list[BudgetUse]:
        budgets = q.budgets(self.store)
        if not budgets:
            return []
        now = datetime.now(UTC)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        spent: dict[tuple[str, str, str], CostLine] = {}
        for period, start in (("day", day), ("month", month)):
            for scope in {b.scope for b in budgets}:
                for line in self.lines(scope, start.timestamp()):
                    spent[(period, scope, line.key)] = line
        return [_use(b, spent, self.rates.currency) for b in budgets]

    def budget_block(self, project: str, user: str | None) -> str | None:
        """Why a new run of `project`/`user` must wait for a hard budget (None: it may
        start); spend is worked out at most every BLOCK_CACHE_S."""
        now = time.monotonic()
        if now - self._hard[0] > BLOCK_CACHE_S:
            hard = any(b.hard for b in q.budgets(self.store))
            uses = self.budget_uses() if hard else []
            self._hard = (now, {(u.budget.scope, u.budget.name): u for u in uses})
        return blocking(self._hard[1], project, user) if self._hard[1] else None

    def op_budgets(self) -> list[BudgetUse]:
        return self.budget_uses()

    def op_budget_set(self, scope: str, name: str, daily: float | None = None,
                      monthly: float | None = None, hard: bool = False,
                      actor: str | None = None) -> BudgetUse:
        now = time.time()
        self._hard = (float("-inf"), {})
        self.writer.write(None, [
            BudgetChanged(scope=scope, name=name, daily=daily, monthly=monthly, hard=hard, ts=now,
                          actor=actor),
            ActionAudited(ts=now, actor=actor, action="budget.set", target=f"{scope}:{name}",
                          detail={"daily": daily, "monthly": monthly, "hard": hard})])
        self.wake()
        return next(u for u in self.budget_uses()
                    if (u.budget.scope, u.budget.name) == (scope, name))

    def op_budget_clear(self, scope: str, name: str, actor: str | None = None) -> bool:
        """Remove a budget; False when there was none (so a retried clear is no error)."""
        if not any((b.scope, b.name) == (scope, name) for b in q.budgets(self.store)):
            return False
        now = time.time()
        self._hard = (float("-inf"), {})
        self.writer.write(None, [
            BudgetChanged(scope=scope, name=name, removed=True, ts=now, actor=actor),
            ActionAudited(ts=now, actor=actor, action="budget.clear", target=f"{scope}:{name}")])
        self.wake()
        return True

    def op_alerts(self, all: bool = False, limit: int = 500) -> list[Alert]:
        return q.alerts(self.store, include_resolved=all, limit=limit)

    def op_alert_ack(self, id: str, actor: str | None = None) -> Alert:
        alert = q.alert(self.store, id)
        if alert is None:
            raise NotFound(f"no alert '{id}' (or more than one matches)",
                           "list them with `mlopslab alerts --all`")
        if alert.status == "open":
            self.writer.write(None, [AlertAcked(id=alert.id, ts=time.time(), actor=actor)])
        found = q.alert(self.store, alert.id)
        assert found is not None
        return found


def _use(budget: Budget, spent: dict[tuple[str, str, str], CostLine], currency: str) -> BudgetUse:
    today = spent.get(("day", budget.scope, budget.name))
    month = spent.get(("month", budget.scope, budget.name))
    return BudgetUse(budget=budget, spent_today=today.cost_allocated if today else 0.0,
                     spent_month=month.cost_allocated if month else 0.0,
                     unpriced_gpu_hours_month=month.unpriced_gpu_hours if month else 0.0,
                     currency=currency)


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def payload(alert: Alert, event: str, lab: str) -> dict[str, Any]:
    """The JSON a channel receives."""
    return {"event": event, "lab": lab, "alert": {
        "id": alert.id, "rule": alert.rule, "subject": alert.subject, "severity": alert.severity,
        "status": alert.status, "message": alert.message, "detail": alert.detail,
        "count": alert.count, "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None}}


def _say(event: AlertRaised | AlertResolved) -> None:
    if isinstance(event, AlertRaised):
        print(f"alert {event.id} raised ({event.severity}, {event.rule} {event.subject}): "
              f"{event.message}", file=sys.stderr, flush=True)
    else:
        print(f"alert {event.id} resolved", file=sys.stderr, flush=True)


def replica_roots(deployments: list[Any]) -> dict[int, GpuOwner]:
    """The first process of every live replica: its pid (process backend) or its
    container's (docker backend, asked of the Docker engine)."""
    roots: dict[int, GpuOwner] = {}
    for d in deployments:
        for r in getattr(d, "replicas", []) or []:
            pid = _replica_pid(r.backend, r.handle)
            if pid:
                roots[pid] = GpuOwner(kind="deployment", id=d.name)
    return roots


_CONTAINER_PIDS: dict[str, int] = {}


def _replica_pid(backend: str, handle: str) -> int | None:
    if backend == "process":
        return int(handle) if handle.isdigit() else None
    if handle not in _CONTAINER_PIDS:
        try:
            out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", handle],
                                 capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0 or not out.stdout.strip().isdigit():
            return None
        _CONTAINER_PIDS[handle] = int(out.stdout.strip())
    return _CONTAINER_PIDS[handle] or None
