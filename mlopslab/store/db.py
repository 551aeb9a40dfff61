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
                  limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Runs matching a compiled filter (see store/filter_sql.py), with last metrics.

        `offset` skips that many rows of the ordered result (a window of a long list).
        """
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs r WHERE {where} "  # noqa: S608 - compiled, no user text
            f"ORDER BY {order}, r.id LIMIT ? OFFSET ?"
        )
        rows = self._dicts(sql, [*(args or []), *(order_args or []), limit, max(0, offset)])
        self._attach_metrics(rows)
        return rows

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

    def get_run(self, run_id: str) -> dict[str, Any]:
        rows = self._dicts(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", [run_id])  # noqa: S608
        if not rows:
            rows = self._dicts(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE starts_with(id, ?) OR ends_with(id, ?)",  # noqa: S608
                [run_id, run_id],
            )
            if len(rows) > 1:
                raise _ambiguous(run_id, rows)
        if not rows:
            raise NotFound(f"no run '{run_id}'", "list runs with `mlopslab runs ls`")
        run = rows[0]
        self._attach_metrics([run])
        run["artifacts"] = self._dicts(
            "SELECT name AS path, sha256, size, kind, step FROM run_artifacts "
            "WHERE run_id = ? ORDER BY created_at, name", [run["id"]])
        run["steps"] = self._dicts(
            "SELECT name, idx, status, cached, cache_key, started_at, ended_at, error "
            "FROM steps WHERE run_id = ? ORDER BY idx", [run["id"]])
        run["inputs"] = self._dicts(
            "SELECT name, dataset_hash AS hash, source, path FROM run_inputs "
            "WHERE run_id = ? ORDER BY name", [run["id"]])
        run["attempts"] = self.attempts(run)
        return run

    def attempts(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """Every attempt of a run, first to current: the earlier ones as they ended (a
        resume never changes them), with the last log line each wrote; then the run's own."""
        earlier = self._dicts(
            f"SELECT {ATTEMPT_COLUMNS}, last_log_seq FROM run_attempts "  # noqa: S608
            "WHERE run_id = ? ORDER BY attempt", [run["id"]])
        current = {k.strip(): run.get(k.strip()) for k in ATTEMPT_COLUMNS.split(",")}
        return [*earlier, {**current, "last_log_seq": None}]

    def metric_series(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT key, step, ts, value FROM metrics WHERE run_id = ?"
        args: list[Any] = [run_id]
        if key is not None:
            sql += " AND key = ?"
            args.append(key)
        return self._dicts(sql + " ORDER BY key, step, ts", args)

    def logs(self, run_id: str, after: int = -1, limit: int = 10_000) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT seq, ts, stream, line FROM logs WHERE run_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", [run_id, after, limit])

    def active_runs(self) -> list[dict[str, Any]]:
        """Queued, starting and running runs, oldest first, with what scheduling needs."""
        return self._dicts(
            "SELECT id, status, reason, pid, worker_pid, project, user_name, recipe, resources, "
            "options, priority, created_at, queued_at, started_at FROM runs "
            "WHERE list_contains(?, status) ORDER BY queued_at, id",
            [list(ACTIVE)]
        )

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

    def quotas(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM quotas ORDER BY scope, name", [])

    def count(self, table: str) -> int:
        if table not in {"runs", "metrics", "logs", "artifacts", "params", "audit"}:
            raise ValueError(table)
        row = self.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def _attach_metrics(self, runs: list[dict[str, Any]]) -> None:
        if not runs:
            return
        ids = [r["id"] for r in runs]
        found: dict[str, dict[str, float]] = {i: {} for i in ids}
        for row in self.cursor().execute(
            "SELECT run_id, key, value FROM metric_last WHERE list_contains(?, run_id) "
            "ORDER BY key", [ids]).fetchall():
            found[row[0]][row[1]] = row[2]
        for run in runs:
            run["metrics"] = found[run["id"]]

    def _dicts(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return self.rows(sql, args)

    def rows(self, sql: str, args: list[Any], json_columns: frozenset[str] | set[str] = JSON_COLUMNS,
             ) -> list[dict[str, Any]]:
        """Rows as dicts: JSON columns parsed, timestamps as ISO text in UTC."""
        cur = self.cursor()
        cur.execute(sql, args)
        names = [d[0] for d in cur.description or []]
        return [_decode(dict(zip(names, row, strict=True)), json_columns) for row in cur.fetchall()]


def _decode(row: dict[str, Any], json_columns: frozenset[str] | set[str]) -> dict[str, Any]:
    for key, value in row.items():
        if key in json_columns and isinstance(value, str):
            row[key] = json.loads(value)
        elif isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC).isoformat()
    return row


def _ambiguous(run_id: str, rows: list[dict[str, Any]]) -> NotFound:
    """The error for an id prefix or suffix that more than one run has: it names a few."""
    rows = sorted(rows, key=lambda r: str(r.get("created_at") or ""), reverse=True)
    named = ", ".join(f"{r['id']} ({r['recipe']}, {r['status']})" for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return NotFound(f"run id '{run_id}' is ambiguous: {len(rows)} runs match: {named}{more}",
                    "give more characters, or the id's last 4 (its random part), "
                    f"e.g. `{rows[0]['id'][-4:]}`")
