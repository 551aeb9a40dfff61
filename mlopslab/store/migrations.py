"""Versioned schema migrations of the DuckDB store.

Each migration is applied once, in order, inside one transaction, and recorded in
`schema_migrations`. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "runs, params, metrics, artifacts, datasets, steps, logs, audit",
        """
        CREATE TABLE projects (name VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL);
        CREATE TABLE runs (
            id VARCHAR PRIMARY KEY,
            project VARCHAR NOT NULL,
            recipe VARCHAR NOT NULL,
            recipe_path VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            reason VARCHAR,
            user_name VARCHAR,
            seed BIGINT,
            params JSON,
            resources JSON,
            options JSON,
            code_version VARCHAR,
            data_version VARCHAR,
            deps JSON,
            host VARCHAR,
            gpu_ids JSON,
            pid INTEGER,
            attempt INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMP NOT NULL,
            started_at TIMESTAMP,
            ended_at TIMESTAMP,
            error VARCHAR
        );
        CREATE TABLE params (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL,
                             value VARCHAR, num DOUBLE);
        CREATE TABLE metrics (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, step BIGINT NOT NULL,
                              ts TIMESTAMP NOT NULL, value DOUBLE);
        CREATE VIEW metric_last AS
            SELECT run_id, key, arg_max(value, step) AS value, max(step) AS step, count(*) AS n
            FROM metrics GROUP BY run_id, key;
        CREATE TABLE artifacts (sha256 VARCHAR PRIMARY KEY, size BIGINT NOT NULL,
                                created_at TIMESTAMP NOT NULL);
        CREATE TABLE run_artifacts (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
                                    sha256 VARCHAR NOT NULL, size BIGINT, kind VARCHAR NOT NULL,
                                    step VARCHAR, created_at TIMESTAMP NOT NULL);
        CREATE TABLE datasets (hash VARCHAR PRIMARY KEY, source VARCHAR NOT NULL,
                               path VARCHAR, size BIGINT, created_at TIMESTAMP NOT NULL);
        CREATE TABLE run_inputs (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
                                 dataset_hash VARCHAR NOT NULL, source VARCHAR, path VARCHAR);
        CREATE TABLE steps (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL, idx INTEGER NOT NULL,
                            cache_key VARCHAR, status VARCHAR NOT NULL, cached BOOLEAN,
                            started_at TIMESTAMP, ended_at TIMESTAMP, error VARCHAR);
        CREATE SEQUENCE log_seq;
        CREATE TABLE logs (run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, ts TIMESTAMP NOT NULL,
                           stream VARCHAR, line VARCHAR);
        CREATE TABLE audit (ts TIMESTAMP NOT NULL, actor VARCHAR, action VARCHAR NOT NULL,
                            target VARCHAR, detail JSON);
        CREATE TABLE applied_batches (batch_id VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL);
        CREATE INDEX metrics_run ON metrics (run_id);
        CREATE INDEX logs_run ON logs (run_id);
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every pending migration; return the versions applied."""
    applied = []
    for version, name, sql in MIGRATIONS:
        if version <= current_version(con):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, name, datetime.now(UTC).replace(tzinfo=None)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
