"""Feedback and decisions in the store: their writers (applied in the service's group
transaction, store/writes.py) and their reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.decision_events import DecisionChanged, FeedbackScored
from mlopslab.core.decisions import OPEN, Decision, Feedback

if TYPE_CHECKING:
    import duckdb

    from mlopslab.store.db import Store


def _feedback(con: duckdb.DuckDBPyConnection, e: FeedbackScored) -> None:
    con.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [e.id, e.deployment, e.version, utc_naive(e.ts), e.data, e.rows, e.metric, e.value,
                 e.threshold, e.below])


def _decision(con: duckdb.DuckDBPyConnection, e: DecisionChanged) -> None:
    at = utc_naive(e.ts)
    con.execute(
        "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
        "SET reason = excluded.reason, status = excluded.status, run_id = excluded.run_id, "
        "new_version = excluded.new_version, report_id = excluded.report_id, "
        "updated_at = excluded.updated_at, detail = excluded.detail",
        [e.id, e.deployment, e.decision, e.reason, e.status, e.from_version, e.run_id,
         e.new_version, e.report_id, at, at, json.dumps(dict(e.detail))])


DECISION_WRITERS: Mapping[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    FeedbackScored: _feedback,
    DecisionChanged: _decision,
}

DECISION_COLUMNS = ("id, deployment, kind, reason, status, from_version, run_id, new_version, "
                    "report_id, created_at, updated_at, detail")


def decisions(store: Store, deployment: str | None = None, open_only: bool = False,
              limit: int = 200) -> list[Decision]:
    """Decisions, newest first (of one deployment; only those still under way)."""
    return [Decision(**r) for r in store.records(
        f"SELECT {DECISION_COLUMNS} FROM decisions WHERE (? IS NULL OR deployment = ?) "  # noqa: S608
        "AND (NOT ? OR list_contains(?, status)) ORDER BY created_at DESC LIMIT ?",
        [deployment, deployment, open_only, list(OPEN), limit], {"detail"})]


def decision(store: Store, decision_id: str) -> Decision | None:
    found = store.records(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?",  # noqa: S608
                          [decision_id], {"detail"})
    return Decision(**found[0]) if found else None


def decisions_of_run(store: Store, run_id: str) -> list[Decision]:
    return [Decision(**r) for r in store.records(
        f"SELECT {DECISION_COLUMNS} FROM decisions WHERE run_id = ?", [run_id], {"detail"})]  # noqa: S608


def feedback(store: Store, feedback_id: str) -> Feedback | None:
    found = store.records("SELECT id, deployment, version, ts, data, rows, metric, value, "
                          "threshold, below FROM feedback WHERE id = ?", [feedback_id])
    return Feedback(**found[0]) if found else None
