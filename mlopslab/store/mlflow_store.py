"""MLflow's registry in the store (migration 12): its events' writers and its one query."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.mlflow_registry import (
    MirrorRunProgressed,
    MirrorVersionMade,
    MlflowAliasSet,
    MlflowModel,
    MlflowModelSaved,
    MlflowVersion,
    MlflowVersionSaved,
)

if TYPE_CHECKING:
    import duckdb

    from mlopslab.store.db import Store


def _model(con: duckdb.DuckDBPyConnection, e: MlflowModelSaved) -> None:
    con.execute("INSERT INTO mlflow_models VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "description = excluded.description, tags = excluded.tags, updated_at = excluded.updated_at",
                [e.name, e.description, json.dumps(dict(e.tags)), utc_naive(e.ts), utc_naive(e.ts)])


def _version(con: duckdb.DuckDBPyConnection, e: MlflowVersionSaved) -> None:
    con.execute("INSERT INTO mlflow_model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "status = excluded.status, description = excluded.description, tags = excluded.tags, "
                "updated_at = excluded.updated_at",
                [e.name, e.version, e.source, e.run_id, e.status, e.description, json.dumps(dict(e.tags)), e.user,
                 utc_naive(e.ts), utc_naive(e.ts)])
    con.execute("UPDATE mlflow_models SET updated_at = ? WHERE name = ?", [utc_naive(e.ts), e.name])


def _alias(con: duckdb.DuckDBPyConnection, e: MlflowAliasSet) -> None:
    con.execute("DELETE FROM mlflow_aliases WHERE name = ? AND alias = ?", [e.name, e.alias])
    if e.version is not None:
        con.execute("INSERT INTO mlflow_aliases VALUES (?, ?, ?)", [e.name, e.alias, e.version])


def _mirror_run(con: duckdb.DuckDBPyConnection, e: MirrorRunProgressed) -> None:
    con.execute("INSERT OR REPLACE INTO mlflow_mirror_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [e.run_id, e.mlflow_run_id, e.params, e.points, e.artifacts, e.ended, utc_naive(e.ts)])


def _mirror_version(con: duckdb.DuckDBPyConnection, e: MirrorVersionMade) -> None:
    if e.champion:
        con.execute("UPDATE mlflow_mirror_versions SET champion = false WHERE name = ?", [e.name])
    con.execute("INSERT OR REPLACE INTO mlflow_mirror_versions VALUES (?, ?, ?, ?, ?)",
                [e.name, e.version, e.mlflow_version, e.champion, utc_naive(e.ts)])


MLFLOW_WRITERS: dict[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    MlflowModelSaved: _model, MlflowVersionSaved: _version, MlflowAliasSet: _alias,
    MirrorRunProgressed: _mirror_run, MirrorVersionMade: _mirror_version,
}


# the mirror's progress ----------------------------------------------------------


def mirror_runs(store: Store) -> dict[str, MirrorRunProgressed]:
    return {r[0]: MirrorRunProgressed(run_id=r[0], mlflow_run_id=r[1], params=int(r[2]), points=int(r[3]),
                                      artifacts=int(r[4]), ended=bool(r[5]), ts=0.0)
            for r in store.cursor().execute("SELECT * FROM mlflow_mirror_runs").fetchall()}


def mirror_versions(store: Store) -> dict[tuple[str, int], tuple[int, bool]]:
    return {(r[0], int(r[1])): (int(r[2]), bool(r[3])) for r in store.cursor().execute(
        "SELECT name, version, mlflow_version, champion FROM mlflow_mirror_versions").fetchall()}


def run_points(store: Store, run_id: str, offset: int, limit: int) -> list[tuple[str, int, float, float | None]]:
    """A run's metric points in the order they were stored (key, step, epoch seconds, value)."""
    rows = store.cursor().execute(
        "SELECT key, step, epoch(ts), value FROM metrics WHERE run_id = ? ORDER BY ts, key, step, value "
        "LIMIT ? OFFSET ?", [run_id, limit, offset]).fetchall()
    return [(str(r[0]), int(r[1]), float(r[2]), None if r[3] is None else float(r[3])) for r in rows]


def registry(store: Store) -> list[MlflowModel]:
    """Every registered model with its versions and aliases, by name."""
    con = store.cursor()
    versions: dict[str, list[MlflowVersion]] = {}
    for r in con.execute("SELECT name, version, source, run_id, status, description, tags, user_name, created_at, "
                         "updated_at FROM mlflow_model_versions ORDER BY name, version").fetchall():
        versions.setdefault(r[0], []).append(MlflowVersion(
            name=r[0], version=int(r[1]), source=r[2], run_id=r[3], status=r[4], description=r[5],
            tags=dict(json.loads(r[6])), user=r[7], created_at=r[8].replace(tzinfo=UTC),
            updated_at=r[9].replace(tzinfo=UTC)))
    aliases: dict[str, dict[str, int]] = {}
    for name, alias, version in con.execute("SELECT name, alias, version FROM mlflow_aliases").fetchall():
        aliases.setdefault(name, {})[alias] = int(version)
    return [MlflowModel(name=r[0], description=r[1], tags=dict(json.loads(r[2])), created_at=r[3].replace(tzinfo=UTC),
                        updated_at=r[4].replace(tzinfo=UTC), aliases=aliases.get(r[0], {}),
                        versions=versions.get(r[0], []))
            for r in con.execute("SELECT name, description, tags, created_at, updated_at FROM mlflow_models "
                                 "ORDER BY name").fetchall()]


@dataclass(frozen=True)
class MirrorCandidate:
    """A run the mirror sends (not one that came from MLflow, not one still waiting), with
    how much of it there is."""

    run_id: str
    status: str
    params: int
    points: int
    artifacts: int


def mirror_candidates(store: Store) -> list[MirrorCandidate]:
    rows = store.cursor().execute(
        "SELECT r.id, r.status, (SELECT count(*) FROM params p WHERE p.run_id = r.id), "
        "(SELECT count(*) FROM metrics m WHERE m.run_id = r.id), "
        "(SELECT count(*) FROM run_artifacts a WHERE a.run_id = r.id) FROM runs r "
        "WHERE r.status NOT IN ('queued', 'starting') "
        "AND coalesce(json_extract_string(r.options, '$.kind'), 'recipe') <> 'mlflow' "
        "ORDER BY r.created_at").fetchall()
    return [MirrorCandidate(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]
