"""Registry events: a new model version, an alias move, a gate report, an evaluation set.

Applied inside the service's group transaction like every other event kind
(store/writes.py). Version numbers are given here, in the transaction, so two
registrations can never get the same number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.events import AliasMoved, EvaluationSetAdded, GatesChecked, ModelVersionRegistered
from mlopslab.core.model_versions import VersionInfo

if TYPE_CHECKING:
    import duckdb

VERSION_JSON = ("exclude", "scores", "groups", "schema", "deps", "gates", "info")
VERSION_COLUMNS = (
    "id", "name", "version", "sha256", "size", "source", "run_id", "train_data", "holdout_data",
    "holdout_sha256", "target", "exclude", "sensitive", "task", "primary_metric", "direction",
    "scores", "groups", "schema", "deps", "gates", "info", "created_at", "created_by",
)


def _model_version(con: duckdb.DuckDBPyConnection, event: ModelVersionRegistered) -> None:
    """Insert the version (unless this artifact from this source is there already)."""
    v = event.version
    same = con.execute(
        "SELECT version FROM model_versions WHERE name = ? AND sha256 = ? "
        "AND run_id IS NOT DISTINCT FROM ?", [v["name"], v["sha256"], v.get("run_id")]).fetchone()
    if same:
        return
    row = con.execute("SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?",
                      [v["name"]]).fetchone()
    number = int(row[0]) if row else 1
    values = {**v, "version": number, "created_at": utc_naive(event.ts)}
    for key in VERSION_JSON:
        values[key] = json.dumps(values.get(key))
    marks = ", ".join("?" for _ in VERSION_COLUMNS)
    con.execute(f"INSERT INTO model_versions ({', '.join(VERSION_COLUMNS)}) VALUES ({marks})",  # noqa: S608
                [values.get(c) for c in VERSION_COLUMNS])
    for alias in event.aliases:
        _move(con, v["name"], alias, number, event.ts, v.get("created_by"), "registered",
              False, None)
    if not con.execute("SELECT 1 FROM evaluation_sets WHERE name = ?", [v["name"]]).fetchone():
        # the first version's holdout becomes the model's evaluation set (docs/registry.md)
        _insert_evaluation_set(con, {
            "name": v["name"], "data": v["holdout_data"], "sha256": v["holdout_sha256"],
            "rows": VersionInfo.from_stored(v.get("info")).rows, "source": f"holdout of {v['name']}@{number}",
            "reason": "first version registered", "actor": v.get("created_by")}, event.ts)


def _evaluation_set(con: duckdb.DuckDBPyConnection, event: EvaluationSetAdded) -> None:
    _insert_evaluation_set(con, event.evaluation_set, event.ts)


def _insert_evaluation_set(con: duckdb.DuckDBPyConnection, s: Mapping[str, Any], epoch: float) -> None:
    row = con.execute("SELECT coalesce(max(version), 0) + 1 FROM evaluation_sets WHERE name = ?",
                      [s["name"]]).fetchone()
    con.execute("INSERT INTO evaluation_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [s["name"], int(row[0]) if row else 1, s["data"], s["sha256"], s.get("rows"),
                 s.get("source"), s.get("reason"), utc_naive(epoch), s.get("actor")])


def _alias_move(con: duckdb.DuckDBPyConnection, event: AliasMoved) -> None:
    _move(con, event.name, event.alias, event.to_version, event.ts, event.actor, event.reason,
          bool(event.forced), event.report_id)


def _move(con: duckdb.DuckDBPyConnection, name: str, alias: str, to_version: int | None,
          epoch: float, actor: str | None, reason: str | None, forced: bool,
          report_id: str | None) -> None:
    row = con.execute("SELECT version FROM model_aliases WHERE name = ? AND alias = ?",
                      [name, alias]).fetchone()
    from_version = row[0] if row else None
    if from_version == to_version:
        return
    con.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", [name, alias])
    if to_version is not None:
        con.execute("INSERT INTO model_aliases VALUES (?, ?, ?, ?)",
                    [name, alias, to_version, utc_naive(epoch)])
    con.execute("INSERT INTO alias_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, alias, from_version, to_version, utc_naive(epoch), actor, reason, forced,
                 report_id])


def _gate_report(con: duckdb.DuckDBPyConnection, event: GatesChecked) -> None:
    r = event.report
    con.execute(
        "INSERT INTO gate_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [r["id"], r["name"], r["version"], r.get("champion_version"), r["passed"],
         json.dumps(r.get("failed", [])), r.get("holdout_data"), r.get("provider"),
         json.dumps(r.get("spec")), json.dumps(r.get("info")), utc_naive(event.ts), r.get("actor")])
    rows = [[r["id"], i, c["gate"], c["name"], c.get("value"), c.get("limit"), c.get("op"),
             c["passed"], json.dumps(c.get("detail", {}))] for i, c in enumerate(r["checks"])]
    if rows:
        con.executemany("INSERT INTO gate_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


MODEL_WRITERS: dict[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    ModelVersionRegistered: _model_version,
    GatesChecked: _gate_report,
    AliasMoved: _alias_move,
    EvaluationSetAdded: _evaluation_set,
}
