"""Versioned schema migrations of the DuckDB store.

Each migration is applied once, in order, inside one transaction, and recorded in
`schema_migrations`. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlopslab.core.clock import utc_naive

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
    (
        2,
        "scheduling: queue time, priority, worker pid; quotas",
        """
        ALTER TABLE runs ADD COLUMN queued_at TIMESTAMP;
        ALTER TABLE runs ADD COLUMN priority INTEGER DEFAULT 0;
        ALTER TABLE runs ADD COLUMN worker_pid INTEGER;
        UPDATE runs SET queued_at = created_at, priority = 0;
        CREATE TABLE quotas (
            scope VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            max_gpus DOUBLE,
            max_runs INTEGER,
            gpu_hours_per_day DOUBLE,
            max_time_limit_s DOUBLE,
            updated_at TIMESTAMP NOT NULL,
            updated_by VARCHAR,
            PRIMARY KEY (scope, name)
        );
        """,
    ),
    (
        3,
        "model registry: versions, aliases and their history, gate reports",
        """
        CREATE TABLE model_versions (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            source VARCHAR NOT NULL,
            run_id VARCHAR,
            train_data VARCHAR NOT NULL,
            holdout_data VARCHAR NOT NULL,
            holdout_sha256 VARCHAR NOT NULL,
            target VARCHAR NOT NULL,
            exclude JSON,
            sensitive VARCHAR,
            task VARCHAR,
            primary_metric VARCHAR,
            direction VARCHAR,
            scores JSON,
            groups JSON,
            schema JSON,
            deps JSON,
            gates JSON,
            info JSON,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            UNIQUE (name, version)
        );
        CREATE TABLE model_aliases (
            name VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (name, alias)
        );
        CREATE TABLE alias_history (
            name VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            from_version INTEGER,
            to_version INTEGER,
            ts TIMESTAMP NOT NULL,
            actor VARCHAR,
            reason VARCHAR,
            forced BOOLEAN NOT NULL DEFAULT false,
            report_id VARCHAR
        );
        CREATE TABLE gate_reports (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            champion_version INTEGER,
            passed BOOLEAN NOT NULL,
            failed JSON,
            holdout_data VARCHAR,
            provider VARCHAR,
            spec JSON,
            info JSON,
            created_at TIMESTAMP NOT NULL,
            actor VARCHAR
        );
        CREATE TABLE gate_checks (
            report_id VARCHAR NOT NULL,
            idx INTEGER NOT NULL,
            gate VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            value DOUBLE,
            limit_value DOUBLE,
            op VARCHAR,
            passed BOOLEAN NOT NULL,
            detail JSON
        );
        CREATE INDEX model_versions_run ON model_versions (run_id);
        CREATE INDEX alias_history_name ON alias_history (name, alias);
        CREATE INDEX gate_reports_version ON gate_reports (name, version);
        CREATE INDEX gate_checks_report ON gate_checks (report_id);
        """,
    ),
    (
        4,
        "deployments: their versions (with the model version each serves) and events",
        """
        CREATE TABLE deployments (
            name VARCHAR PRIMARY KEY,
            backend VARCHAR NOT NULL,
            model_name VARCHAR NOT NULL,
            endpoint VARCHAR,
            active_version VARCHAR,
            previous_version VARCHAR,
            status VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            created_by VARCHAR
        );
        CREATE TABLE deployment_versions (
            deployment VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            model_version_id VARCHAR,
            sha256 VARCHAR,
            first_deployed_at TIMESTAMP NOT NULL,
            PRIMARY KEY (deployment, version)
        );
        CREATE TABLE deployment_events (
            deployment VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            kind VARCHAR NOT NULL,
            version VARCHAR,
            from_version VARCHAR,
            actor VARCHAR,
            reason VARCHAR,
            seconds DOUBLE,
            info JSON
        );
        CREATE INDEX deployment_events_name ON deployment_events (deployment, ts);
        """,
    ),
    (
        5,
        "run attempts: a resumed run's earlier attempts; the exit code a run ended with",
        """
        ALTER TABLE runs ADD COLUMN exit_code INTEGER;
        CREATE TABLE run_attempts (
            run_id VARCHAR NOT NULL,
            attempt INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            reason VARCHAR,
            error VARCHAR,
            exit_code INTEGER,
            host VARCHAR,
            gpu_ids JSON,
            queued_at TIMESTAMP,
            started_at TIMESTAMP,
            ended_at TIMESTAMP,
            last_log_seq BIGINT,
            PRIMARY KEY (run_id, attempt)
        );
        """,
    ),
    (
        6,
        "evaluation sets: the data each model's versions are compared on, versioned",
        """
        CREATE TABLE evaluation_sets (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            data VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            rows BIGINT,
            source VARCHAR,
            reason VARCHAR,
            created_at TIMESTAMP NOT NULL,
            actor VARCHAR,
            PRIMARY KEY (name, version)
        );
        """,
    ),
    (
        7,
        "monitoring: GPU history and its rollups, GPU use per owner, budgets, alerts",
        """
        CREATE TABLE gpu_samples (
            ts TIMESTAMP NOT NULL, device INTEGER NOT NULL, uuid VARCHAR, name VARCHAR,
            utilization_pct DOUBLE, memory_used BIGINT, memory_total BIGINT,
            power_w DOUBLE, temperature_c DOUBLE, seconds DOUBLE NOT NULL
        );
        CREATE TABLE gpu_samples_rollup (
            resolution VARCHAR NOT NULL, bucket TIMESTAMP NOT NULL, device INTEGER NOT NULL,
            uuid VARCHAR, name VARCHAR, samples BIGINT NOT NULL, seconds DOUBLE NOT NULL,
            utilization_avg DOUBLE, utilization_max DOUBLE, memory_used_avg DOUBLE,
            memory_used_max BIGINT, memory_total BIGINT, power_avg DOUBLE, energy_j DOUBLE,
            temperature_max DOUBLE
        );
        CREATE TABLE gpu_usage (
            ts TIMESTAMP NOT NULL, resolution VARCHAR NOT NULL, device INTEGER NOT NULL,
            gpu_name VARCHAR, owner_kind VARCHAR NOT NULL, owner_id VARCHAR NOT NULL,
            seconds DOUBLE NOT NULL, busy_s DOUBLE NOT NULL, energy_j DOUBLE NOT NULL,
            memory_max BIGINT NOT NULL
        );
        CREATE INDEX gpu_usage_owner ON gpu_usage (owner_kind, owner_id);
        CREATE TABLE budgets (
            scope VARCHAR NOT NULL, name VARCHAR NOT NULL, daily DOUBLE, monthly DOUBLE,
            hard BOOLEAN NOT NULL DEFAULT false, updated_at TIMESTAMP NOT NULL, actor VARCHAR,
            PRIMARY KEY (scope, name)
        );
        CREATE TABLE alerts (
            id VARCHAR PRIMARY KEY, rule VARCHAR NOT NULL, subject VARCHAR NOT NULL,
            severity VARCHAR NOT NULL, status VARCHAR NOT NULL, message VARCHAR NOT NULL,
            detail JSON, sticky BOOLEAN NOT NULL DEFAULT false, first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL, count BIGINT NOT NULL, acked_at TIMESTAMP,
            acked_by VARCHAR, resolved_at TIMESTAMP
        );
        CREATE INDEX alerts_rule_subject ON alerts (rule, subject);
        CREATE TABLE alert_deliveries (
            alert_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, event VARCHAR NOT NULL,
            attempts INTEGER NOT NULL, delivered_at TIMESTAMP, last_error VARCHAR,
            updated_at TIMESTAMP NOT NULL, PRIMARY KEY (alert_id, channel, event)
        );
        """,
    ),
    (
        8,
        "serving health: what each deployment's model servers answered, per scrape",
        """
        CREATE TABLE serving_health (
            ts TIMESTAMP NOT NULL, deployment VARCHAR NOT NULL, version VARCHAR NOT NULL,
            seconds DOUBLE NOT NULL, requests BIGINT NOT NULL, errors BIGINT NOT NULL,
            rejected BIGINT NOT NULL, latency_buckets JSON, latency_sum_s DOUBLE,
            queue_depth DOUBLE, batches BIGINT, batch_rows BIGINT
        );
        CREATE INDEX serving_health_deployment ON serving_health (deployment, ts);
        """,
    ),
    (
        9,
        "drift: sampled inputs, training data profiles, checked windows, review items",
        """
        CREATE TABLE drift_samples (
            deployment VARCHAR NOT NULL, version VARCHAR NOT NULL, row_no BIGINT NOT NULL,
            ts TIMESTAMP NOT NULL, x DOUBLE[] NOT NULL
        );
        CREATE TABLE drift_cursors (
            deployment VARCHAR NOT NULL, version VARCHAR NOT NULL, instance VARCHAR NOT NULL,
            seq BIGINT NOT NULL, next_row BIGINT NOT NULL, dropped BIGINT NOT NULL,
            updated_at TIMESTAMP NOT NULL, PRIMARY KEY (deployment, version, instance)
        );
        CREATE TABLE drift_references (
            model_version_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, rows BIGINT NOT NULL,
            features JSON NOT NULL, problem VARCHAR, created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE drift_windows (
            deployment VARCHAR NOT NULL, version VARCHAR NOT NULL,
            model_version_id VARCHAR NOT NULL, idx INTEGER NOT NULL, first_row BIGINT NOT NULL,
            rows INTEGER NOT NULL, checked_at TIMESTAMP NOT NULL, drifted BOOLEAN NOT NULL,
            features JSON NOT NULL, PRIMARY KEY (deployment, version, idx)
        );
        CREATE TABLE drift_reviews (
            id VARCHAR PRIMARY KEY, deployment VARCHAR NOT NULL, version VARCHAR NOT NULL,
            model_version_id VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL,
            features JSON NOT NULL, message VARCHAR NOT NULL, status VARCHAR NOT NULL
        );
        """,
    ),
    (
        10,
        "decisions: labelled feedback scored per deployment, and the retraining it decided",
        """
        CREATE TABLE feedback (
            id VARCHAR PRIMARY KEY, deployment VARCHAR NOT NULL, version VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL, data VARCHAR NOT NULL, rows BIGINT NOT NULL,
            metric VARCHAR NOT NULL, value DOUBLE NOT NULL, threshold DOUBLE, below BOOLEAN NOT NULL
        );
        CREATE TABLE decisions (
            id VARCHAR PRIMARY KEY, deployment VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, status VARCHAR NOT NULL, from_version VARCHAR NOT NULL,
            run_id VARCHAR, new_version VARCHAR, report_id VARCHAR,
            created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, detail JSON
        );
        """,
    ),
    (
        11,
        "run tags: key and value per run (the tracking API, MLflow's tags)",
        """
        CREATE TABLE run_tags (
            run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        """,
    ),
    (
        12,
        "MLflow's model registry as its client knows it (core/mlflow_registry.py)",
        """
        CREATE TABLE mlflow_models (
            name VARCHAR PRIMARY KEY, description VARCHAR NOT NULL, tags JSON NOT NULL,
            created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE mlflow_model_versions (
            name VARCHAR NOT NULL, version INTEGER NOT NULL, source VARCHAR NOT NULL, run_id VARCHAR,
            status VARCHAR NOT NULL, description VARCHAR NOT NULL, tags JSON NOT NULL, user_name VARCHAR,
            created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY (name, version)
        );
        CREATE TABLE mlflow_aliases (
            name VARCHAR NOT NULL, alias VARCHAR NOT NULL, version INTEGER NOT NULL,
            PRIMARY KEY (name, alias)
        );
        """,
    ),
    (
        13,
        "the MLflow mirror's progress: per run, per model version",
        """
        CREATE TABLE mlflow_mirror_runs (
            run_id VARCHAR PRIMARY KEY, mlflow_run_id VARCHAR NOT NULL, params INTEGER NOT NULL,
            points BIGINT NOT NULL, artifacts INTEGER NOT NULL, ended BOOLEAN NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE mlflow_mirror_versions (
            name VARCHAR NOT NULL, version INTEGER NOT NULL, mlflow_version INTEGER NOT NULL,
            champion BOOLEAN NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY (name, version)
        );
        """,
    ),
    (
        14,
        "metric_last: a table kept as metrics are inserted (it was a view aggregating every point)",
        """
        DROP VIEW metric_last;
        CREATE TABLE metric_last (
            run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value DOUBLE, value_step BIGINT,
            step BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (run_id, key)
        );
        INSERT INTO metric_last
            SELECT run_id, key, arg_max(value, {'step': step, 'pos': rowid}),
                   max(step) FILTER (WHERE value IS NOT NULL), max(step), count(*)
            FROM metrics GROUP BY run_id, key;
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
                [version, name, utc_naive()],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
