"""The typed client surface, one group per room: `client.runs.get(run_id)`.

Each method sends exactly one operation of mlopslab.api and returns its reply type;
tests/api/test_table.py checks that every operation has exactly one method here,
with the request's fields as its parameters (names and defaults) and the
operation's reply type as its return type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mlopslab.api import deploy as deploy_api
from mlopslab.api import drift, monitor, queue, registry, runs, service
from mlopslab.api.operation import Operation
from mlopslab.client.connection import Connection
from mlopslab.core.alerts import Alert
from mlopslab.core.budgets import BudgetUse
from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.cost import CostReport
from mlopslab.core.curves import CurveX, MetricCurve
from mlopslab.core.decisions import Decision, FeedbackResult
from mlopslab.core.deployments import (
    Deployment,
    DeploymentDetail,
    RolledBack,
    ServingOptions,
    Undeployed,
    WatchPolicy,
)
from mlopslab.core.drift_reports import DriftReport
from mlopslab.core.events import Event
from mlopslab.core.gate_reports import GateVerdict
from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.gpus import GpuReport
from mlopslab.core.lineage import Lineage
from mlopslab.core.mlflow_registry import MlflowModel
from mlopslab.core.model_versions import (
    ModelSummary,
    ModelVersion,
    ModelVersionDetail,
    Registration,
    VersionSummary,
)
from mlopslab.core.queue import QueueView, QuotaUsage
from mlopslab.core.registry import (
    AliasHistory,
    AliasHistoryAt,
    AliasRemoval,
    EvaluationSet,
    GatedPromotion,
    Promotion,
)
from mlopslab.core.run import ImportedRun, LogLine, MetricPoint, Project, Run, RunFields, RunSpec, TrackedRunSpec
from mlopslab.core.service_status import ServiceStatus
from mlopslab.core.serving_health import ServingHealth

F = TypeVar("F", bound=Callable[..., Any])
Names = list[str]
Runs_ = list[Run]  # `list` is a method name in some groups
Projects = list[Project]
MlflowModels = list[MlflowModel]
MetricPoints = list[MetricPoint]
MetricCurves = list[MetricCurve]
LogLines = list[LogLine]
QuotaUsages = list[QuotaUsage]


def sends(op: Operation) -> Callable[[F], F]:
    """Mark a client method as the one that sends `op`."""

    def mark(method: F) -> F:
        method.__operation__ = op  # type: ignore[attr-defined]
        return method

    return mark


class Group:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _send(self, op: Operation, **fields: Any) -> Any:
        from mlopslab.api.wire import build_request

        return self._connection.call(op, build_request(op, fields))


class Service(Group):
    @sends(service.HELLO)
    def hello(self) -> service.Hello:
        return self._send(service.HELLO)

    @sends(service.PING)
    def ping(self) -> ServiceStatus:
        return self._send(service.PING)

    @sends(service.CLUSTER)
    def cluster(self) -> ClusterInfo:
        return self._send(service.CLUSTER)

    @sends(service.WRITE)
    def write(self, batch_id: str, events: list[Event]) -> bool:
        return self._send(service.WRITE, batch_id=batch_id, events=events)

    @sends(service.STOP)
    def stop(self, stop_ray: bool = True) -> bool:
        return self._send(service.STOP, stop_ray=stop_ray)


class Runs(Group):
    @sends(runs.LIST_RUNS)
    def list(self, filter: str | None = None, sort: str | None = None, limit: int = 50,
             offset: int = 0) -> Runs_:
        return self._send(runs.LIST_RUNS, filter=filter, sort=sort, limit=limit, offset=offset)

    @sends(runs.COUNT_RUNS)
    def count(self, filter: str | None = None) -> int:
        return self._send(runs.COUNT_RUNS, filter=filter)

    @sends(runs.RUN_FIELDS)
    def fields(self) -> RunFields:
        return self._send(runs.RUN_FIELDS)

    @sends(runs.GET_RUN)
    def get(self, run_id: str) -> Run:
        return self._send(runs.GET_RUN, run_id=run_id)

    @sends(runs.METRICS)
    def metrics(self, run_id: str, key: str | None = None) -> MetricPoints:
        return self._send(runs.METRICS, run_id=run_id, key=key)

    @sends(runs.METRIC_CURVES)
    def curves(self, run_ids: Names, key: str, buckets: int = runs.CURVE_BUCKETS,
               x: CurveX = "step") -> MetricCurves:
        """One metric's curve of each run, in the order of `run_ids`, downsampled by the service."""
        return self._send(runs.METRIC_CURVES, run_ids=run_ids, key=key, buckets=buckets, x=x)

    @sends(runs.LOGS)
    def logs(self, run_id: str, after: int = -1, limit: int = 10_000) -> LogLines:
        return self._send(runs.LOGS, run_id=run_id, after=after, limit=limit)

    @sends(runs.SUBMIT_RUN)
    def submit(self, spec: RunSpec) -> Run:
        return self._send(runs.SUBMIT_RUN, spec=spec)

    @sends(runs.LIST_PROJECTS)
    def projects(self) -> Projects:
        return self._send(runs.LIST_PROJECTS)

    @sends(runs.CREATE_PROJECT)
    def create_project(self, name: str) -> Project:
        return self._send(runs.CREATE_PROJECT, name=name)

    @sends(runs.IMPORT_RUN)
    def import_run(self, run: ImportedRun) -> Run:
        return self._send(runs.IMPORT_RUN, run=run)

    @sends(runs.MLFLOW_REGISTRY)
    def mlflow_registry(self) -> MlflowModels:
        return self._send(runs.MLFLOW_REGISTRY)

    @sends(runs.START_TRACKED_RUN)
    def start_tracked(self, spec: TrackedRunSpec) -> Run:
        return self._send(runs.START_TRACKED_RUN, spec=spec)

    @sends(runs.RESUME_RUN)
    def resume(self, run_id: str, from_scratch: bool = False) -> Run:
        return self._send(runs.RESUME_RUN, run_id=run_id, from_scratch=from_scratch)

    @sends(runs.CANCEL_RUN)
    def cancel(self, run_id: str, actor: str | None = None) -> Run:
        return self._send(runs.CANCEL_RUN, run_id=run_id, actor=actor)


class Queue(Group):
    @sends(queue.QUEUE)
    def show(self) -> QueueView:
        return self._send(queue.QUEUE)

    @sends(queue.QUOTAS)
    def quotas(self) -> QuotaUsages:
        return self._send(queue.QUOTAS)

    @sends(queue.QUOTA_SET)
    def set_quota(self, scope: str, name: str, limits: queue.QuotaLimits, actor: str | None = None) -> QuotaUsage:
        return self._send(queue.QUOTA_SET, scope=scope, name=name, limits=limits, actor=actor)

    @sends(queue.QUOTA_CLEAR)
    def clear_quota(self, scope: str, name: str, actor: str | None = None) -> bool:
        return self._send(queue.QUOTA_CLEAR, scope=scope, name=name, actor=actor)

    @sends(queue.GPUS)
    def gpus(self) -> GpuReport:
        return self._send(queue.GPUS)


ModelSummaries = list[ModelSummary]
VersionSummaries = list[VersionSummary]
EvaluationSets = list[EvaluationSet]


class Models(Group):
    @sends(registry.MODELS)
    def list(self) -> ModelSummaries:
        return self._send(registry.MODELS)

    @sends(registry.MODEL_VERSIONS)
    def versions(self, name: str) -> VersionSummaries:
        return self._send(registry.MODEL_VERSIONS, name=name)

    @sends(registry.MODEL_VERSION)
    def version(self, ref: str) -> ModelVersionDetail:
        return self._send(registry.MODEL_VERSION, ref=ref)

    @sends(registry.GATE_REPORT)
    def gate_report(self, report_id: str) -> GateVerdict:
        return self._send(registry.GATE_REPORT, report_id=report_id)

    @sends(registry.ALIAS_HISTORY)
    def alias_history(self, name: str, alias: str | None = None,
                      at: str | None = None) -> AliasHistory | AliasHistoryAt:
        """The history; with `at`, an AliasHistoryAt (the version the alias had then)."""
        return self._send(registry.ALIAS_HISTORY, name=name, alias=alias, at=at)

    @sends(registry.LINEAGE)
    def lineage(self, ref: str) -> Lineage:
        return self._send(registry.LINEAGE, ref=ref)

    @sends(registry.EVALUATION_SETS)
    def evaluation_sets(self, name: str) -> EvaluationSets:
        return self._send(registry.EVALUATION_SETS, name=name)

    @sends(registry.REGISTER_RUN)
    def register_run(self, run_id: str, name: str | None = None, actor: str | None = None,
                     data: str | None = None, target: str | None = None) -> Registration:
        return self._send(registry.REGISTER_RUN, run_id=run_id, name=name, actor=actor, data=data,
                          target=target)

    @sends(registry.REGISTER_FILE)
    def register_file(self, path: str, name: str, data: str, target: str, sensitive: str | None = None,
                      exclude: Names | None = None, train_data: str | None = None,
                      primary: str | None = None, actor: str | None = None,
                      gates: str | None = None) -> Registration:
        return self._send(registry.REGISTER_FILE, path=path, name=name, data=data, target=target,
                          sensitive=sensitive, exclude=exclude, train_data=train_data, primary=primary,
                          actor=actor, gates=gates)

    @sends(registry.SET_ALIAS)
    def set_alias(self, ref: str, alias: str, actor: str | None = None,
                  reason: str | None = None) -> ModelVersion:
        return self._send(registry.SET_ALIAS, ref=ref, alias=alias, actor=actor, reason=reason)

    @sends(registry.REMOVE_ALIAS)
    def remove_alias(self, name: str, alias: str, actor: str | None = None,
                     reason: str | None = None) -> AliasRemoval:
        return self._send(registry.REMOVE_ALIAS, name=name, alias=alias, actor=actor, reason=reason)

    @sends(registry.GATE)
    def gate(self, ref: str, actor: str | None = None, gates: str | None = None,
             data: str | None = None) -> GateVerdict:
        return self._send(registry.GATE, ref=ref, actor=actor, gates=gates, data=data)

    @sends(registry.SET_EVALUATION_SET)
    def set_evaluation_set(self, name: str, data: str, actor: str | None = None,
                           reason: str | None = None) -> EvaluationSet:
        return self._send(registry.SET_EVALUATION_SET, name=name, data=data, actor=actor, reason=reason)

    @sends(registry.PROMOTE)
    def promote(self, ref: str, actor: str | None = None, force: bool = False, reason: str | None = None,
                gates: str | None = None) -> GatedPromotion | Promotion:
        """A GatedPromotion, or a Promotion when the version is the champion already."""
        return self._send(registry.PROMOTE, ref=ref, actor=actor, force=force, reason=reason, gates=gates)


DeploymentRows = list[Deployment]


class Deployments(Group):
    @sends(deploy_api.DEPLOYMENTS)
    def list(self) -> DeploymentRows:
        return self._send(deploy_api.DEPLOYMENTS)

    @sends(deploy_api.DEPLOYMENT)
    def get(self, name: str) -> DeploymentDetail:
        return self._send(deploy_api.DEPLOYMENT, name=name)

    @sends(deploy_api.DEPLOY)
    def deploy(self, ref: str, name: str | None = None, backend: str = "process", port: int | None = None,
               actor: str | None = None, image: str | None = None, watch: WatchPolicy | None = None,
               options: ServingOptions | None = None) -> Deployment:
        return self._send(deploy_api.DEPLOY, ref=ref, name=name, backend=backend, port=port, actor=actor,
                          image=image, watch=watch, options=options)

    @sends(deploy_api.ROLLBACK)
    def rollback(self, name: str, actor: str | None = None, reason: str | None = None) -> RolledBack:
        return self._send(deploy_api.ROLLBACK, name=name, actor=actor, reason=reason)

    @sends(deploy_api.UNDEPLOY)
    def undeploy(self, name: str, actor: str | None = None) -> Undeployed:
        return self._send(deploy_api.UNDEPLOY, name=name, actor=actor)




GpuPoints = list[GpuPoint]
OwnerUses = list[OwnerGpuUse]
BudgetUses = list[BudgetUse]
Alerts = list[Alert]
Decisions = list[Decision]


class Monitor(Group):
    @sends(monitor.GPU_HISTORY)
    def gpu_history(self, since: float, device: int | None = None) -> GpuPoints:
        return self._send(monitor.GPU_HISTORY, since=since, device=device)

    @sends(monitor.GPU_USE)
    def gpu_use(self, ids: Names, kind: str = "run") -> OwnerUses:
        return self._send(monitor.GPU_USE, kind=kind, ids=ids)

    @sends(monitor.COST)
    def cost(self, by: str = "project", since: float | None = None,
             until: float | None = None) -> CostReport:
        return self._send(monitor.COST, by=by, since=since, until=until)

    @sends(monitor.BUDGETS)
    def budgets(self) -> BudgetUses:
        return self._send(monitor.BUDGETS)

    @sends(monitor.BUDGET_SET)
    def set_budget(self, scope: str, name: str, daily: float | None = None,
                   monthly: float | None = None, hard: bool = False,
                   actor: str | None = None) -> BudgetUse:
        return self._send(monitor.BUDGET_SET, scope=scope, name=name, daily=daily,
                          monthly=monthly, hard=hard, actor=actor)

    @sends(monitor.BUDGET_CLEAR)
    def clear_budget(self, scope: str, name: str, actor: str | None = None) -> bool:
        return self._send(monitor.BUDGET_CLEAR, scope=scope, name=name, actor=actor)

    @sends(monitor.ALERTS)
    def alerts(self, all: bool = False, limit: int = 500) -> Alerts:
        return self._send(monitor.ALERTS, all=all, limit=limit)

    @sends(monitor.ALERT_ACK)
    def ack(self, id: str, actor: str | None = None) -> Alert:
        return self._send(monitor.ALERT_ACK, id=id, actor=actor)

    @sends(monitor.FEEDBACK)
    def feedback(self, deployment: str, data: str, actor: str | None = None) -> FeedbackResult:
        return self._send(monitor.FEEDBACK, deployment=deployment, data=data, actor=actor)

    @sends(monitor.DECISIONS)
    def decisions(self, deployment: str | None = None, limit: int = 200) -> Decisions:
        return self._send(monitor.DECISIONS, deployment=deployment, limit=limit)

    @sends(monitor.SERVING_HEALTH)
    def serving_health(self, name: str, since: float, until: float | None = None) -> ServingHealth:
        return self._send(monitor.SERVING_HEALTH, name=name, since=since, until=until)


class Drift(Group):
    @sends(drift.DRIFT)
    def report(self, name: str, windows: int = 20) -> DriftReport:
        return self._send(drift.DRIFT, name=name, windows=windows)
