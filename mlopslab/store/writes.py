"""Turning a batch of events into one DuckDB transaction.

Events are the typed events of core/events.py, sent by run processes and the service
itself (decoded from the wire at the service's edge). Bulk events (metrics, logs)
become Arrow tables inserted with one `INSERT ... SELECT`; the few row updates use
parameters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlopslab.core.clock import utc_naive
from mlopslab.core.events import (
    ActionAudited,
    ArtifactRecorded,
    AttemptArchived,
    DatasetVersioned,
    Event,
    LogsWritten,
    MetricsLogged,
    ParamsLogged,
    ProjectCreated,
    QuotaChanged,
    RunCreated,
    RunUpdated,
    StepFinished,
    StepStarted,
    TagsSet,
)
from mlopslab.core.point_columns import PointColumns
from mlopslab.store.decision_store import DECISION_WRITERS
from mlopslab.store.deployment_writes import DEPLOY_WRITERS
from mlopslab.store.drift_writes import DRIFT_WRITERS
from mlopslab.store.mlflow_store import MLFLOW_WRITERS
from mlopslab.store.model_writes import MODEL_WRITERS
from mlopslab.store.monitor_writes import MONITOR_WRITERS

if TYPE_CHECKING:
    import duckdb

RUN_FIELDS = {
    "status", "reason", "seed", "params", "resources", "options", "code_version",
    "data_version", "deps", "host", "gpu_ids", "pid", "attempt", "started_at", "ended_at",
    "error", "queued_at", "priority", "worker_pid", "exit_code",
}
JSON_FIELDS = {"params", "resources", "options", "deps", "gpu_ids"}
TIME_FIELDS = {"started_at", "ended_at", "created_at", "queued_at"}


def ts(epoch: float | None) -> datetime | None:
    """Epoch seconds to the naive-UTC datetime the store keeps."""
    if epoch is None:
        return None
    return utc_naive(epoch)


def _column(value: Any, field: str) -> Any:
    if field in JSON_FIELDS:
        return json.dumps(value)
    if field in TIME_FIELDS:
        return ts(value)
    return value


def apply_events(con: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> None:
    """Write `events` in a fixed order of type (a run's row before what refers to it, bulk
    points and lines last), in order within a type; the caller owns the transaction."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for event in events:
        stage = _STAGE.get(type(event))
        if stage is None:
            raise TypeError(f"not an event: {event!r}")
        grouped[stage].append(event)
    for stage in sorted(grouped):
        _STAGES[stage][1](con, grouped[stage])


def _run_created(con: duckdb.DuckDBPyConnection, event: RunCreated) -> None:
    run = event.run
    fields = ["id", "project", "recipe", "recipe_path", "status", "user_name", "created_at"]
    fields += [f for f in run if f in RUN_FIELDS and f not in fields]
    values = [_column(run.get(f), f) for f in fields]
    marks = ", ".join("?" for _ in fields)
    con.execute(f"INSERT INTO runs ({', '.join(fields)}) VALUES ({marks})", values)  # noqa: S608
    con.execute(
        "INSERT INTO projects SELECT ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM projects WHERE name = ?)",
        [run["project"], ts(run["created_at"]), run["project"]],
    )


def _run_updated(con: duckdb.DuckDBPyConnection, event: RunUpdated) -> None:
    fields = [f for f in event.fields if f in RUN_FIELDS]  # whitelist: never user text
    if not fields:
        return
    sets = ", ".join(f"{f} = ?" for f in fields)
    values = [_column(event.fields[f], f) for f in fields]
    where = "id = ?"
    if event.only_if_status:
        where += f" AND status IN ({', '.join('?' for _ in event.only_if_status)})"
        values += [event.run_id, *event.only_if_status]
    else:
        values.append(event.run_id)
    con.execute(f"UPDATE runs SET {sets} WHERE {where}", values)  # noqa: S608


def _attempt_archived(con: duckdb.DuckDBPyConnection, event: AttemptArchived) -> None:
    """Copy a run's current attempt into run_attempts (before a resume resets it), while
    the run is in one of `only_if_status`; an attempt already copied stays as it was."""
    con.execute(
        "INSERT INTO run_attempts SELECT id, attempt, status, reason, error, exit_code, host, "
        "gpu_ids, queued_at, started_at, ended_at, "
        "(SELECT max(seq) FROM logs WHERE run_id = runs.id) FROM runs "
        "WHERE id = ? AND list_contains(?, status) ON CONFLICT DO NOTHING",
        [event.run_id, list(event.only_if_status)],
    )


def _params(con: duckdb.DuckDBPyConnection, event: ParamsLogged) -> None:
    con.execute("DELETE FROM params WHERE run_id = ?", [event.run_id])
    rows = [
        [event.run_id, key, json.dumps(value), _number(value)]
        for key, value in event.params.items()
    ]
    if rows:
        con.executemany("INSERT INTO params VALUES (?, ?, ?, ?)", rows)


def _tags(con: duckdb.DuckDBPyConnection, event: TagsSet) -> None:
    for key, value in event.tags.items():
        if value is None:
            con.execute("DELETE FROM run_tags WHERE run_id = ? AND key = ?", [event.run_id, key])
        else:
            con.execute("INSERT INTO run_tags VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                        [event.run_id, key, str(value)])


def _project(con: duckdb.DuckDBPyConnection, event: ProjectCreated) -> None:
    con.execute("INSERT INTO projects SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM projects WHERE name = ?)",
                [event.name, ts(event.ts), event.name])


def _number(value: Any) -> float | None:
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _dataset(con: duckdb.DuckDBPyConnection, event: DatasetVersioned) -> None:
    con.execute(
        "INSERT INTO datasets VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [event.hash, event.source, event.path, event.size, ts(event.ts)],
    )
    con.execute(
        "DELETE FROM run_inputs WHERE run_id = ? AND name = ?", [event.run_id, event.name]
    )
    con.execute(
        "INSERT INTO run_inputs VALUES (?, ?, ?, ?, ?)",
        [event.run_id, event.name, event.hash, event.source, event.path],
    )


def _step(con: duckdb.DuckDBPyConnection, event: StepStarted | StepFinished) -> None:
    con.execute(
        "DELETE FROM steps WHERE run_id = ? AND name = ?", [event.run_id, event.name]
    )
    cached, ended_at, error = ((bool(event.cached), event.ended_at, event.error)
                               if isinstance(event, StepFinished) else (False, None, None))
    con.execute(
        "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [event.run_id, event.name, event.idx, event.cache_key, event.status, cached,
         ts(event.started_at), ts(ended_at), error],
    )


def _artifact(con: duckdb.DuckDBPyConnection, event: ArtifactRecorded) -> None:
    when = ts(event.ts)
    con.execute(
        "INSERT INTO artifacts VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [event.sha256, event.size, when],
    )
    con.execute(
        "DELETE FROM run_artifacts WHERE run_id = ? AND name = ?",
        [event.run_id, event.name],
    )
    con.execute(
        "INSERT INTO run_artifacts VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            event.run_id, event.name, event.sha256, event.size, event.artifact_kind,
            event.step, when,
        ],
    )


def _audit(con: duckdb.DuckDBPyConnection, event: ActionAudited) -> None:
    con.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?)",
        [ts(event.ts), event.actor, event.action, event.target, json.dumps(event.detail)],
    )


def _insert_metrics(con: duckdb.DuckDBPyConnection, events: list[MetricsLogged]) -> None:
    tables = [_metric_table(e) for e in events]
    batch = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    con.register("metric_batch", batch)
    con.execute("INSERT INTO metrics SELECT * FROM metric_batch")
    update_metric_last(con)
    con.unregister("metric_batch")


_METRIC_SCHEMA = pa.schema([("run_id", pa.string()), ("key", pa.string()), ("step", pa.int64()),
                            ("ts", pa.timestamp("us")), ("value", pa.float64())])


def _metric_table(event: MetricsLogged) -> pa.Table:
    """One event's points as rows of `metrics`."""
    points = event.points
    if isinstance(points, PointColumns):
        return _column_table(event.run_id, points)
    keys, steps, stamps, values = [], [], [], []
    for key, step, epoch, value in points:
        keys.append(key)
        steps.append(int(step))
        stamps.append(int(epoch * 1_000_000))
        values.append(None if value is None else float(value))
    return pa.table([pa.array([event.run_id] * len(keys), pa.string()), pa.array(keys, pa.string()),
                     pa.array(steps, pa.int64()), pa.array(stamps, pa.timestamp("us")),
                     pa.array(values, pa.float64())], schema=_METRIC_SCHEMA)


def _column_table(run_id: str, points: PointColumns) -> pa.Table:
    """Columns to Arrow without a Python loop: keys through a dictionary, NaN as null."""
    n = len(points)
    index = np.frombuffer(points.key_index, dtype=np.uint32).astype(np.int32)
    keys = pa.DictionaryArray.from_arrays(index, pa.array(points.keys, pa.string())).cast(pa.string())
    run_ids = pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([run_id])).cast(pa.string())
    stamps = (np.frombuffer(points.stamps, dtype=np.float64) * 1_000_000).astype(np.int64)
    values = np.frombuffer(points.values, dtype=np.float64)
    return pa.table([run_ids, keys, pa.array(np.frombuffer(points.steps, dtype=np.int64)),
                     pa.array(stamps, pa.timestamp("us")), pa.array(values, mask=np.isnan(values))],
                    schema=_METRIC_SCHEMA)


def update_metric_last(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the registered `metric_batch` (just inserted into metrics) into metric_last:
    per run and key, the value at the highest step (NULL values skipped, as the view did;
    equal steps: the later point, a later batch after an earlier one), the highest step
    and the number of points."""
    con.execute(
        "INSERT INTO metric_last "
        "SELECT run_id, key, arg_max(value, {'step': step, 'pos': pos}), "
        "max(step) FILTER (WHERE value IS NOT NULL), max(step), count(*) "
        "FROM (SELECT *, row_number() OVER () AS pos FROM metric_batch) GROUP BY run_id, key "
        "ON CONFLICT (run_id, key) DO UPDATE SET "
        "value = CASE WHEN excluded.value_step >= coalesce(metric_last.value_step, excluded.value_step) "
        "THEN excluded.value ELSE metric_last.value END, "
        "value_step = greatest(metric_last.value_step, excluded.value_step), "
        "step = greatest(metric_last.step, excluded.step), n = metric_last.n + excluded.n"
    )


def _insert_logs(con: duckdb.DuckDBPyConnection, events: list[LogsWritten]) -> None:
    run_ids, stamps, streams, lines = [], [], [], []
    for event in events:
        for epoch, stream, line in event.lines:
            run_ids.append(event.run_id)
            stamps.append(int(epoch * 1_000_000))
            streams.append(stream)
            lines.append(line)
    batch = pa.table({
        "run_id": pa.array(run_ids, pa.string()),
        "ts": pa.array(stamps, pa.timestamp("us")),
        "stream": pa.array(streams, pa.string()),
        "line": pa.array(lines, pa.string()),
    })
    con.register("log_batch", batch)
    con.execute(
        "INSERT INTO logs SELECT run_id, nextval('log_seq'), ts, stream, line FROM log_batch"
    )
    con.unregister("log_batch")


QUOTA_LIMITS = ("max_gpus", "max_runs", "gpu_hours_per_day", "max_time_limit_s")


def _quota(con: duckdb.DuckDBPyConnection, event: QuotaChanged) -> None:
    """Set (limits: dict) or remove (limits: None) the stored quota of a project or user."""
    key = [event.scope, event.name]
    con.execute("DELETE FROM quotas WHERE scope = ? AND name = ?", key)
    if event.limits is not None:
        limits = [event.limits.get(f) for f in QUOTA_LIMITS]
        con.execute("INSERT INTO quotas VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [*key, *limits, ts(event.ts), event.actor])


Apply = Callable[["duckdb.DuckDBPyConnection", list[Any]], None]


def _each(write: Callable[[duckdb.DuckDBPyConnection, Any], None]) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, events: list[Any]) -> None:
        for event in events:
            write(con, event)
    return apply


# in this order: rows others refer to first (a run before its updates), bulk last
_STAGES: tuple[tuple[tuple[type[Any], ...], Apply], ...] = (
    ((RunCreated,), _each(_run_created)),
    ((AttemptArchived,), _each(_attempt_archived)),
    ((RunUpdated,), _each(_run_updated)),
    ((ParamsLogged,), _each(_params)),
    ((TagsSet,), _each(_tags)),
    ((ProjectCreated,), _each(_project)),
    ((DatasetVersioned,), _each(_dataset)),
    ((StepStarted, StepFinished), _each(_step)),
    ((ArtifactRecorded,), _each(_artifact)),
    ((ActionAudited,), _each(_audit)),
    ((QuotaChanged,), _each(_quota)),
    *(((kind,), _each(write))
      for kind, write in {**MODEL_WRITERS, **DEPLOY_WRITERS, **MONITOR_WRITERS,
                          **DRIFT_WRITERS, **DECISION_WRITERS, **MLFLOW_WRITERS}.items()),
    ((MetricsLogged,), _insert_metrics),
    ((LogsWritten,), _insert_logs),
)
_STAGE = {kind: i for i, (kinds, _) in enumerate(_STAGES) for kind in kinds}
