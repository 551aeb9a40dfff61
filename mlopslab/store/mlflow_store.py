"""MLflow's registry in the store (migration 12): its events' writers and its one query."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.mlflow_registry import (
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


MLFLOW_WRITERS: dict[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    MlflowModelSaved: _model, MlflowVersionSaved: _version, MlflowAliasSet: _alias,
}


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
