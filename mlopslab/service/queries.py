"""Read operations the service answers: run lists, run details, metric series, logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlopslab.api import runs as api
from mlopslab.core.curves import CurveX, MetricCurve
from mlopslab.core.filters import parse_filter, parse_sort
from mlopslab.core.mlflow_registry import MlflowModel
from mlopslab.core.run import LogLine, MetricPoint, Project, Run, RunFields
from mlopslab.service.dispatch import Handlers
from mlopslab.store.curve_queries import metric_curves
from mlopslab.store.filter_sql import compile_filter, compile_sort

if TYPE_CHECKING:
    from mlopslab.store.db import Store

MAX_LIMIT = 100_000


def _where(filter: str | None) -> tuple[str, list[Any]]:
    if not filter:
        return "TRUE", []
    return compile_filter(parse_filter(filter))


class Queries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handlers(self) -> Handlers:
        return {api.LIST_RUNS: self.op_list_runs, api.COUNT_RUNS: self.op_count_runs,
                api.RUN_FIELDS: self.op_run_fields, api.GET_RUN: self.op_get_run,
                api.METRICS: self.op_metrics, api.METRIC_CURVES: self.op_metric_curves,
                api.LOGS: self.op_logs, api.LIST_PROJECTS: self.op_list_projects,
                api.MLFLOW_REGISTRY: self.op_mlflow_registry}

    def op_mlflow_registry(self) -> list[MlflowModel]:
        from mlopslab.store.mlflow_store import registry

        return registry(self.store)

    def op_list_projects(self) -> list[Project]:
        return self.store.projects()

    def op_list_runs(self, filter: str | None = None, sort: str | None = None,
                     limit: int = 50, offset: int = 0) -> list[Run]:
        where, args = _where(filter)
        order: str = "r.created_at DESC"
        order_args: list[Any] = []
        if sort:
            order, order_args = compile_sort(parse_sort(sort))
        return self.store.list_runs(where, args, order, order_args, max(1, min(limit, MAX_LIMIT)),
                                    offset)

    def op_count_runs(self, filter: str | None = None) -> int:
        """How many runs a filter selects (the length of a windowed run list)."""
        return self.store.count_runs(*_where(filter))

    def op_run_fields(self) -> RunFields:
        """Metric and param names in the lab, and how many runs have each status."""
        names = self.store.run_field_names()
        return RunFields(metrics=names["metrics"], params=names["params"],
                         statuses=self.store.run_status_counts())

    def op_get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def op_metrics(self, run_id: str, key: str | None = None) -> list[MetricPoint]:
        return self.store.metric_series(self.store.run_id(run_id), key)

    def op_metric_curves(self, run_ids: list[str], key: str, buckets: int = api.CURVE_BUCKETS,
                         x: CurveX = "step") -> list[MetricCurve]:
        return metric_curves(self.store, run_ids, key, buckets, x)

    def op_logs(self, run_id: str, after: int = -1, limit: int = 10_000) -> list[LogLine]:
        run = self.store.get_run(run_id)
        return self.store.logs(run.id, after, limit)
