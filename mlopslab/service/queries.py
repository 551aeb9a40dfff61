"""Read operations the service answers: run lists, run details, metric series, logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlopslab.core.filters import parse_filter, parse_sort
from mlopslab.store.filter_sql import compile_filter, compile_sort

if TYPE_CHECKING:
    from mlopslab.store.db import Store

MAX_LIMIT = 100_000


class Queries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def op_list_runs(self, filter: str | None = None, sort: str | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        where: str = "TRUE"
        args: list[Any] = []
        order: str = "r.created_at DESC"
        order_args: list[Any] = []
        if filter:
            where, args = compile_filter(parse_filter(filter))
        if sort:
            order, order_args = compile_sort(parse_sort(sort))
        return self.store.list_runs(where, args, order, order_args, max(1, min(limit, MAX_LIMIT)))

    def op_get_run(self, run_id: str) -> dict[str, Any]:
        return self.store.get_run(run_id)

    def op_metrics(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        run = self.store.get_run(run_id)
        return self.store.metric_series(run["id"], key)

    def op_logs(self, run_id: str, after: int = -1, limit: int = 10_000) -> list[dict[str, Any]]:
        run = self.store.get_run(run_id)
        return self.store.logs(run["id"], after, limit)
