"""Deployment facts: the deployment row, each version it served, and what happened to it.

Applied inside the service's group transaction (store/writes.py), like the
registry's events. The running state lives in the deployment's files
(deploy/deployments.py); the store keeps what users query afterwards: history,
who did it, rollback times, and the link from a model version to where it served.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.deployments import DeployedVersion, DeploymentEvent
from mlopslab.core.events import (
    DEPLOYMENT_HAPPENINGS,
    DeploymentChanged,
    DeploymentHappening,
    DeploymentVersionServed,
)

if TYPE_CHECKING:
    import duckdb

    from mlopslab.store.db import Store

def _deployment(con: duckdb.DuckDBPyConnection, event: DeploymentChanged) -> None:
    """Insert or update the deployment row (status 'undeployed' keeps its history)."""
    d = event.deployment
    now = utc_naive(event.ts)
    con.execute(
        "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "backend = excluded.backend, model_name = excluded.model_name, endpoint = excluded.endpoint, "
        "active_version = excluded.active_version, previous_version = excluded.previous_version, "
        "status = excluded.status, updated_at = excluded.updated_at",
        [d["name"], d["backend"], d["model_name"], d.get("endpoint"), d.get("active_version"),
         d.get("previous_version"), d["status"], now, now, event.actor])


def _deployment_version(con: duckdb.DuckDBPyConnection, event: DeploymentVersionServed) -> None:
    con.execute("INSERT INTO deployment_versions VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [event.deployment, event.version, event.model_version_id, event.sha256,
                 utc_naive(event.ts)])


def _happening(con: duckdb.DuckDBPyConnection, event: DeploymentHappening) -> None:
    """One row of deployment_events, its kind the event's (deployed, rolled_back, ...)."""
    row = DeploymentEvent.of(event)
    con.execute("INSERT INTO deployment_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row.deployment, utc_naive(event.ts), row.kind, row.version, row.from_version,
                 row.actor, row.reason, row.seconds, json.dumps(row.info)])


DEPLOY_WRITERS: dict[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    DeploymentChanged: _deployment,
    DeploymentVersionServed: _deployment_version,
    **dict.fromkeys(DEPLOYMENT_HAPPENINGS, _happening),
}


def deployment_events(store: Store, name: str, limit: int = 50) -> list[DeploymentEvent]:
    """The newest events of one deployment, newest first."""
    return [DeploymentEvent(**row) for row in _rows(
        store, "SELECT deployment, ts, kind, version, from_version, actor, reason, seconds, info "
               "FROM deployment_events WHERE deployment = ? ORDER BY ts DESC LIMIT ?", [name, limit])]


def deployed_versions(store: Store, name: str) -> list[DeployedVersion]:
    """The model versions deployment NAME has served, in the order first served."""
    return [DeployedVersion(**row) for row in _rows(
        store, "SELECT version, model_version_id, sha256, first_deployed_at FROM deployment_versions "
               "WHERE deployment = ? ORDER BY first_deployed_at", [name])]


def _rows(store: Store, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    from mlopslab.store.models import rows

    return rows(store, sql, args)  # decodes `info`, and timestamps as ISO text in UTC
