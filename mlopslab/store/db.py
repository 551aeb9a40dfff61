"""The DuckDB store: opening, batched writes, and the queries the CLI and TUI need.

Only the lab service opens the store read-write (DuckDB allows one writer
process). All SQL is parameterized; identifiers come from fixed whitelists.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from mlopslab.core.clock import utc_naive
from mlopslab.core.errors import NotFound, StoreError
from mlopslab.core.events import Event
from mlopslab.core.quotas import Quota
from mlopslab.core.run import (
    Attempt,
    LogLine,
    MetricPoint,
    Project,
    Run,
    RunArtifact,
    RunInput,
    RunResources,
    RunSettings,
    RunStep,
)
from mlopslab.core.runs import ACTIVE
from mlopslab.store.migrations import migrate
from mlopslab.store.writes import apply_events

RUN_COLUMNS = (
    "id, project, recipe, recipe_path, status, reason, user_name, seed, params, resources, "
    "options, code_version, data_version, deps, host, gpu_ids, pid, attempt, created_at, "
    "started_at, ended_at, error, queued_at, priority, worker_pid, exit_code"
)
ATTEMPT_COLUMNS = (
    "attempt, status, reason, error, exit_code, host, gpu_ids, queued_at, started_at, ended_at"
)
JSON_COLUMNS = {"params", "resources", "options", "deps", "gpu_ids"}


class Store:
    """One read-write connection; reads use cursors so threads do not share state."""

    def __init__(self, path: Path) -> None:
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.IOException as e:
            raise StoreError(
                f"cannot open the store {path}: {e}",
                "another process holds it; only the lab service opens it (mlopslab lab status)",
            ) from e
        self._write_lock = threading.Lock()
        migrate(self._con)

    def close(self) -> None:
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    # writes ---------------------------------------------------------------

    def write(self, batches: list[tuple[str | None, list[Event]]]) -> list[bool]:
        """Apply several batches in one transaction; skip batch ids seen before.

        Returns, per batch, whether it was new. Idempotent: a spooled batch that was
        already written (the ack was lost) is not written twice.
        """
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                fresh = [self._write_one(cur, batch_id, events) for batch_id, events in batches]
                cur.execute("COMMIT")
            except Exception as e:
                cur.execute("ROLLBACK")
                raise StoreError(f"write failed: {e}") from e
        return fresh

    def _write_one(self, cur: duckdb.DuckDBPyConnection, batch_id: str | None,
                   events: list[Event]) -> bool:
        if batch_id is not None:
            seen = cur.execute(
                "SELECT 1 FROM applied_batches WHERE batch_id = ?", [batch_id]
            ).fetchone()
            if seen:
                return False
            cur.execute("INSERT INTO applied_batches VALUES (?, ?)", [batch_id, utc_naive()])
        apply_events(cur, events)
        return True

    # reads ----------------------------------------------------------------

    def list_runs(self, where: str = "TRUE", args: list[Any] | None = None,
                  order: str = "r.created_at DESC", order_args: list[Any] | None = None,
                  limit: int = 50, offset: int = 0) -> list[Run]:
        """Runs matching a compiled filter (see store/filter_sql.py), with last metrics.

        `offset` skips that many rows of the ordered result (a window of a long list).
        """
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs r WHERE {where} "  # noqa: S608 - compiled, no user text
            f"ORDER BY {order}, r.id LIMIT ? OFFSET ?"
        )
        return self._runs(sql, [*(args or []), *(order_args or []), limit, max(0, offset)])

    def count_runs(self, where: str = "TRUE", args: list[Any] | None = None) -> int:
        """How many runs match a compiled filter."""
        row = self.cursor().execute(
            f"SELECT count(*) FROM runs r WHERE {where}", args or []).fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def run_status_counts(self) -> dict[str, int]:
        """Runs per status, over the whole lab."""
        rows = self.cursor().execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
        return {str(status): int(n) for status, n in rows}

    def run_field_names(self) -> dict[str, list[str]]:
        """Every metric and param name any run has, sorted: the columns a run table can show."""
        cur = self.cursor()
        metrics = [r[0] for r in cur.execute("SELECT DISTINCT key FROM metrics ORDER BY key").fetchall()]
        params = [r[0] for r in cur.execute("SELECT DISTINCT key FROM params ORDER BY key").fetchall()]
        return {"metrics": metrics, "params": params}

    def get_run(self, run_id: str) -> Run:
        """One run by id, or by a unique prefix or suffix of it, with its inputs, steps,
        artifacts and attempts."""
        sql = f"SELECT {RUN_COLUMNS} FROM runs r WHERE id = ?"  # noqa: S608
        rows = self.records(sql, [run_id])
        if not rows:
            rows = self.records(
                f"SELECT {RUN_COLUMNS} FROM runs r WHERE starts_with(id, ?) OR ends_with(id, ?)",  # noqa: S608
                [run_id, run_id],
            )
            if len(rows) > 1:
                raise _ambiguous(run_id, rows)
        if not rows:
            raise NotFound(f"no run '{run_id}'", "list runs with `mlopslab runs ls`")
        found = rows[0]["id"]
        return _run(rows[0], metrics=self._metrics([found])[found],
                   artifacts=tuple(RunArtifact(**r) for r in self.records(
                       "SELECT name AS path, sha256, size, kind, step FROM run_artifacts "
                       "WHERE run_id = ? ORDER BY created_at, name", [found])),
                   steps=tuple(RunStep(**r) for r in self.records(
                       "SELECT name, idx, status, cached, cache_key, started_at, ended_at, error "
                       "FROM steps WHERE run_id = ? ORDER BY idx", [found])),
                   inputs=tuple(RunInput(**r) for r in self.records(
                       "SELECT name, dataset_hash AS hash, source, path FROM run_inputs "
                       "WHERE run_id = ? ORDER BY name", [found])),
                   attempts=self._attempts(rows[0]),
                   tags={str(k): str(v) for k, v in self.cursor().execute(
                       "SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key", [found]).fetchall()})

    def projects(self) -> list[Project]:
        rows = self.cursor().execute(
            "SELECT p.name, p.created_at, (SELECT count(*) FROM runs r WHERE r.project = p.name) "
            "FROM projects p ORDER BY p.created_at, p.name").fetchall()
        return [Project(name=r[0], created_at=r[1].replace(tzinfo=UTC), runs=int(r[2])) for r in rows]

    def _attempts(self, run: dict[str, Any]) -> tuple[Attempt, ...]:
        """Every attempt of a run, first to current: the earlier ones as they ended (a
        resume never changes them), with the last log line each wrote; then the run's own."""
        earlier = self.records(
            f"SELECT {ATTEMPT_COLUMNS}, last_log_seq FROM run_attempts "  # noqa: S608
            "WHERE run_id = ? ORDER BY attempt", [run["id"]])
        current: dict[str, Any] = {k.strip(): run[k.strip()] for k in ATTEMPT_COLUMNS.split(",")}
        return (*(Attempt(**a) for a in earlier), Attempt(**current, last_log_seq=None))

    def metric_series(self, run_id: str, key: str | None = None) -> list[MetricPoint]:
        """A run's points (one key or all), by key, step and time; built from plain rows,
        since a chart asks for thousands of them."""
        sql = "SELECT key, step, ts, value FROM metrics WHERE run_id = ?"
        args: list[Any] = [run_id]
        if key is not None:
            sql += " AND key = ?"
            args.append(key)
        rows = self.cursor().execute(sql + " ORDER BY key, step, ts", args).fetchall()
        return [MetricPoint(k, step, ts.replace(tzinfo=UTC), value) for k, step, ts, value in rows]

    def run_id(self, run_id: str) -> str:
        """The full id of a run given by id or by a unique prefix or suffix of it."""
        cur = self.cursor()
        if cur.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone():
            return run_id
        return self.get_run(run_id).id  # the same errors as get_run's

    def logs(self, run_id: str, after: int = -1, limit: int = 10_000) -> list[LogLine]:
        return [LogLine(**r) for r in self.records(
            "SELECT seq, ts, stream, line FROM logs WHERE run_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", [run_id, after, limit])]

    def active_runs(self) -> list[Run]:
        """Queued, starting and running runs, oldest in the queue first."""
        return self._runs(
            f"SELECT {RUN_COLUMNS} FROM runs r WHERE list_contains(?, status) "  # noqa: S608
            "ORDER BY queued_at, id", [list(ACTIVE)])

    def gpu_spans(self, since: datetime) -> list[dict[str, Any]]:
        """Runs that held GPUs at some time after `since` (naive UTC): for fair share.
        One row per attempt: a resumed run's earlier attempts count too."""
        return self._dicts(
            "WITH spans AS (SELECT id, started_at, ended_at FROM runs UNION ALL "
            "SELECT run_id, started_at, ended_at FROM run_attempts) "
            "SELECT r.project, r.user_name, r.resources, s.started_at, s.ended_at "
            "FROM spans s JOIN runs r ON r.id = s.id "
            "WHERE s.started_at IS NOT NULL AND (s.ended_at IS NULL OR s.ended_at >= ?) "
            "AND coalesce(TRY_CAST(json_extract(r.resources, '$.gpus') AS DOUBLE), 0) > 0",
            [since])

    def quotas(self) -> list[Quota]:
        """The quotas set with `quota set` (the lab config may hold more)."""
        return [Quota(**r) for r in self.records(
            "SELECT scope, name, max_gpus, max_runs, gpu_hours_per_day, max_time_limit_s "
            "FROM quotas ORDER BY scope, name", [])]

    def count(self, table: str) -> int:
        if table not in {"runs", "metrics", "logs", "artifacts", "params", "audit"}:
            raise ValueError(table)
        row = self.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def _runs(self, sql: str, args: list[Any]) -> list[Run]:
        """Runs (RUN_COLUMNS) with their last metric values."""
        rows = self.records(sql, args)
        metrics = self._metrics([r["id"] for r in rows])
        return [_run(row, metrics=metrics[row["id"]]) for row in rows]

    def _metrics(self, ids: list[str]) -> dict[str, dict[str, float | None]]:
        """The last value of each metric of each run."""
        found: dict[str, dict[str, float | None]] = {i: {} for i in ids}
        if not ids:
            return found
        for row in self.cursor().execute(
            "SELECT run_id, key, value FROM metric_last "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY key", [ids]).fetchall():
            found[row[0]][row[1]] = row[2]
        return found

    def records(self, sql: str, args: list[Any],
                json_columns: frozenset[str] | set[str] = JSON_COLUMNS) -> list[dict[str, Any]]:
        """Rows as the fields of nouns: JSON columns parsed, timestamps aware (UTC)."""
        cur = self.cursor()
        cur.execute(sql, args)
        names = [d[0] for d in cur.description or []]
        return [_fields(dict(zip(names, row, strict=True)), json_columns) for row in cur.fetchall()]

    def _dicts(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return self.rows(sql, args)

    def rows(self, sql: str, args: list[Any], json_columns: frozenset[str] | set[str] = JSON_COLUMNS,
             ) -> list[dict[str, Any]]:
        """Rows as dicts: JSON columns parsed, timestamps as ISO text in UTC."""
        cur = self.cursor()
        cur.execute(sql, args)
        names = [d[0] for d in cur.description or []]
        return [_decode(dict(zip(names, row, strict=True)), json_columns) for row in cur.fetchall()]


def _run(row: dict[str, Any], **more: Any) -> Run:
    """A run from its row (RUN_COLUMNS, JSON parsed): resources and options typed, an
    older row's missing keys defaulted."""
    return Run(**{**row, "resources": RunResources.from_json(row["resources"]),
                  "options": RunSettings.from_json(row["options"])}, **more)


def _decode(row: dict[str, Any], json_columns: frozenset[str] | set[str]) -> dict[str, Any]:
    for key, value in row.items():
        if key in json_columns and isinstance(value, str):
            row[key] = json.loads(value)
        elif isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC).isoformat()
    return row


def _fields(row: dict[str, Any], json_columns: frozenset[str] | set[str]) -> dict[str, Any]:
    for key, value in row.items():
        if key in json_columns and isinstance(value, str):
            row[key] = json.loads(value)
        elif isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC)
    return row


def _ambiguous(run_id: str, rows: list[dict[str, Any]]) -> NotFound:
    """The error for an id prefix or suffix that more than one run has: it names a few."""
    rows = sorted(rows, key=lambda r: r["created_at"], reverse=True)
    named = ", ".join(f"{r['id']} ({r['recipe']}, {r['status']})" for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return NotFound(f"run id '{run_id}' is ambiguous: {len(rows)} runs match: {named}{more}",
                    "give more characters, or the id's last 4 (its random part), "
                    f"e.g. `{rows[0]['id'][-4:]}`")
