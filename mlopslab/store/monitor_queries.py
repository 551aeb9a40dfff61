"""Reads of the monitor's tables: GPU history, GPU use per owner, what runs held,
budgets and alerts. Every series sums raw readings and their rollups together:
compaction moves rows, so nothing is counted twice (store/monitor_writes.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlopslab.core.alerts import OPEN, Alert
from mlopslab.core.budgets import Budget
from mlopslab.core.clock import utc_naive
from mlopslab.core.cost import Holding, Use
from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.run import RunResources

if TYPE_CHECKING:
    from mlopslab.store.db import Store

def gpu_history(store: Store, since: float, device: int | None = None) -> list[GpuPoint]:
    """Readings since `since` (epoch seconds), oldest first: rollups where raw ones are gone."""
    at = utc_naive(since)
    rows = store.cursor().execute(
        "SELECT ts, device, name, seconds, utilization_pct, memory_used, memory_total, power_w "
        "FROM gpu_samples WHERE ts >= ? AND (? IS NULL OR device = ?) UNION ALL "
        "SELECT bucket, device, name, seconds, utilization_avg, memory_used_avg, memory_total, "
        "power_avg FROM gpu_samples_rollup WHERE bucket >= ? AND (? IS NULL OR device = ?) "
        "ORDER BY 1, 2", [at, device, device, at, device, device]).fetchall()
    return [GpuPoint(r[0].replace(tzinfo=UTC), *r[1:]) for r in rows]


def owner_use(store: Store, kind: str, ids: list[str]) -> dict[str, OwnerGpuUse]:
    """GPU use attributed to each of `ids` (runs or deployments), over all time."""
    rows = store.cursor().execute(
        "SELECT owner_id, sum(seconds), sum(busy_s), sum(energy_j), max(memory_max) "
        "FROM gpu_usage WHERE owner_kind = ? AND list_contains(?, owner_id) GROUP BY owner_id",
        [kind, ids]).fetchall()
    return {r[0]: OwnerGpuUse(kind, r[0], float(r[1]), float(r[2]), float(r[3]), int(r[4]))
            for r in rows}


def uses(store: Store, since: float | None, until: float | None) -> list[Use]:
    """GPU use per owner, UTC day and GPU model between `since` and `until`."""
    rows = store.cursor().execute(
        "SELECT owner_kind, owner_id, strftime(ts, '%Y-%m-%d') AS day, coalesce(gpu_name, ''), "
        "sum(busy_s), sum(energy_j), max(memory_max) FROM gpu_usage "
        "WHERE (? IS NULL OR ts >= ?) AND (? IS NULL OR ts < ?) GROUP BY ALL",
        [*_bound(since), *_bound(until)]).fetchall()
    return [Use(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), int(r[6])) for r in rows]


def _bound(epoch: float | None) -> tuple[datetime | None, datetime | None]:
    at = utc_naive(epoch) if epoch is not None else None
    return at, at


def device_names(store: Store) -> dict[int, str]:
    """The latest name the monitor read for each GPU index."""
    rows = store.cursor().execute(
        "SELECT device, arg_max(name, ts) FROM (SELECT device, name, ts FROM gpu_samples "
        "UNION ALL SELECT device, name, bucket FROM gpu_samples_rollup) GROUP BY device").fetchall()
    return {int(r[0]): str(r[1]) for r in rows if r[1]}


def holdings(store: Store, since: float | None, now: float | None = None) -> list[Holding]:
    """What every run held in each attempt that ran after `since` (a running one: until now)."""
    now = time.time() if now is None else now
    names = device_names(store)
    rows = store.cursor().execute(
        "WITH spans AS (SELECT id, started_at, ended_at, gpu_ids FROM runs UNION ALL "
        "SELECT run_id, started_at, ended_at, gpu_ids FROM run_attempts) "
        "SELECT r.id, r.project, r.user_name, epoch(s.started_at), epoch(s.ended_at), "
        "r.resources, s.gpu_ids FROM spans s JOIN runs r ON r.id = s.id "
        "WHERE s.started_at IS NOT NULL AND (? IS NULL OR s.ended_at IS NULL OR s.ended_at >= ?)",
        list(_bound(since))).fetchall()
    found = []
    for run_id, project, user, start, end, resources, gpu_ids in rows:
        res = RunResources.from_json(_json(resources))
        found.append(Holding(
            kind="run", id=run_id, project=project, user=user, start=float(start),
            end=float(end) if end is not None else now, gpus=res.gpus, cpus=res.cpus,
            memory_gb=res.memory_gb or 0.0, gpu_model=_model(_json(gpu_ids, []), names)))
    return found


def _model(gpu_ids: list[Any], names: dict[int, str]) -> str | None:
    """The model of the GPUs a run held: known only for GPUs the monitor has read."""
    models = {names.get(int(g)) if str(g).isdigit() else None for g in gpu_ids}
    return models.pop() if len(models) == 1 else None


def _json(text: Any, default: Any = None) -> Any:
    import json

    if text is None:
        return {} if default is None else default
    return json.loads(text) if isinstance(text, str) else text


def budgets(store: Store) -> list[Budget]:
    return [Budget(**r) for r in store.records(
        "SELECT scope, name, daily, monthly, hard, updated_at, actor FROM budgets "
        "ORDER BY scope, name", [])]


ALERT_COLUMNS = ("id, rule, subject, severity, status, message, detail, sticky, first_seen, "
                 "last_seen, count, acked_at, acked_by, resolved_at")


def alerts(store: Store, include_resolved: bool = False, limit: int = 500) -> list[Alert]:
    """Open and acknowledged alerts, newest first (and resolved ones with `include_resolved`)."""
    statuses = ["open", "acked", "resolved"] if include_resolved else list(OPEN)
    return [Alert(**r) for r in store.records(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE list_contains(?, status) "  # noqa: S608
        "ORDER BY last_seen DESC, id LIMIT ?", [statuses, limit], {"detail"})]


def live_alerts(store: Store) -> list[Alert]:
    """What the rules reconcile against: open and acked alerts, and sticky ones of the last week."""
    week = utc_naive(time.time() - 7 * 86_400)
    return [Alert(**r) for r in store.records(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE status <> 'resolved' "  # noqa: S608
        "OR (sticky AND first_seen >= ?)", [week], {"detail"})]


def alert(store: Store, alert_id: str) -> Alert | None:
    rows = store.records(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ? OR starts_with(id, ?) "  # noqa: S608
                         "OR ends_with(id, ?)", [alert_id, alert_id, alert_id], {"detail"})
    return Alert(**rows[0]) if len(rows) == 1 else None


def undelivered(store: Store, channel: str, since: float, retry_before: float,
                max_attempts: int = 20) -> list[tuple[Alert, str]]:
    """(alert, event) pairs not yet delivered to `channel`: raised (and resolved) since
    `since`, whose last failed try, if any, was before `retry_before`."""
    rows = store.records(
        f"WITH wanted AS (SELECT *, 'raised' AS event FROM alerts WHERE first_seen >= ? "  # noqa: S608
        f"UNION ALL SELECT *, 'resolved' FROM alerts WHERE resolved_at >= ?) "
        f"SELECT {', '.join('w.' + c.strip() for c in ALERT_COLUMNS.split(','))}, w.event "
        "FROM wanted w LEFT JOIN alert_deliveries d ON d.alert_id = w.id AND d.channel = ? "
        "AND d.event = w.event WHERE d.delivered_at IS NULL AND (d.updated_at IS NULL OR "
        "(d.updated_at < ? AND d.attempts < ?)) ORDER BY w.first_seen LIMIT 100",
        [utc_naive(since), utc_naive(since), channel, utc_naive(retry_before), max_attempts],
        {"detail"})
    return [(Alert(**{k: v for k, v in r.items() if k != "event"}), r["event"]) for r in rows]


def running_gpu_runs(store: Store) -> list[tuple[str, float, float]]:
    """(id, started at, GPUs) of every running run that holds GPUs."""
    rows = store.cursor().execute(
        "SELECT id, epoch(started_at), TRY_CAST(json_extract(resources, '$.gpus') AS DOUBLE) "
        "FROM runs WHERE status = 'running' AND started_at IS NOT NULL").fetchall()
    return [(r[0], float(r[1]), float(r[2])) for r in rows if r[2]]


def busy_since(store: Store, since: float, ids: list[str]) -> dict[str, float]:
    """Busy GPU-seconds of each run since `since` (raw readings and rollups)."""
    rows = store.cursor().execute(
        "SELECT owner_id, sum(busy_s) FROM gpu_usage WHERE owner_kind = 'run' AND ts >= ? "
        "AND list_contains(?, owner_id) GROUP BY owner_id", [utc_naive(since), ids]).fetchall()
    return {r[0]: float(r[1]) for r in rows}


def sampled_seconds(store: Store, since: float) -> float:
    """Seconds since `since` that the monitor read GPUs for (the best-read device's)."""
    row = store.cursor().execute(
        "SELECT max(s) FROM (SELECT device, sum(seconds) AS s FROM (SELECT device, seconds FROM "
        "gpu_samples WHERE ts >= ? UNION ALL SELECT device, seconds FROM gpu_samples_rollup "
        "WHERE bucket >= ?) GROUP BY device)", [utc_naive(since), utc_naive(since)]).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def lost_runs(store: Store, since: float) -> list[tuple[str, str, str]]:
    """(id, project, reason) of runs failed since `since` because their process vanished
    (killed: a tracked run, whose process was the user's own)."""
    return [tuple(r) for r in store.cursor().execute(  # type: ignore[misc]
        "SELECT id, project, reason FROM runs WHERE status IN ('failed', 'killed') AND ended_at >= ? "
        "AND starts_with(reason, 'run process (pid')", [utc_naive(since)]).fetchall()]


def rollbacks(store: Store, since: float) -> list[tuple[str, datetime, str | None, str | None]]:
    """(deployment, ts, version it went back to, reason) of automatic rollbacks since `since`."""
    return [(r[0], r[1].replace(tzinfo=UTC), r[2], r[3]) for r in store.cursor().execute(
        "SELECT deployment, ts, version, reason FROM deployment_events "
        "WHERE kind = 'auto_rollback' AND ts >= ? ORDER BY ts", [utc_naive(since)]).fetchall()]
