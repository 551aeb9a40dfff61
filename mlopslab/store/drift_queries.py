"""Reads of the drift tables, and the bin counts of windows of sampled rows, in DuckDB.

`window_counts` bins every value of the rows of whole windows in one query: the
features of a row are one `DOUBLE[]`, unnested beside their index and joined to the
reference's bins (lo, scale, bins, categorical or not, per feature), with the same
arithmetic as core/drift.py `fine_bin`; a categorical feature's key is its value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mlopslab.core.drift import CATEGORICAL, FeatureReference, FeatureScore, tally
from mlopslab.core.drift_reports import DriftReference, DriftReview, DriftWindow

if TYPE_CHECKING:
    from mlopslab.store.db import Store

_COUNTS = """
    SELECT u.w, u.f, CASE WHEN p.cat THEN u.v
                          WHEN p.shift IS NULL
                          THEN least(greatest(floor((u.v - p.lo) * p.scale), -1), p.bins) + 1
                          ELSE least(greatest(floor((ln(1.0 + greatest(u.v - p.shift, 0.0)) - p.lo)
                                                    * p.scale), -1), p.bins) + 1 END AS key,
           count(*)::DOUBLE AS n
    FROM (SELECT (row_no - $first) // $size AS w, unnest(range(len(x))) AS f, unnest(x) AS v
          FROM drift_samples
          WHERE deployment = $deployment AND version = $version AND row_no >= $first AND row_no < $end) u
    JOIN (SELECT unnest(range(len($lo::DOUBLE[]))) AS f, unnest($lo::DOUBLE[]) AS lo,
                 unnest($scale::DOUBLE[]) AS scale, unnest($bins::BIGINT[]) AS bins,
                 unnest($cat::BOOLEAN[]) AS cat, unnest($shift::DOUBLE[]) AS shift) p ON u.f = p.f
    GROUP BY ALL
"""


def window_counts(store: Store, deployment: str, version: str, first_row: int, windows: int,
                  window_rows: int, references: list[FeatureReference]) -> np.ndarray:
    """The count matrix (windows x features x slots, core/drift.py `tally`) of the
    `windows` whole windows of `window_rows` rows from row `first_row`."""
    cat = [r.kind == CATEGORICAL for r in references]
    params = {"deployment": deployment, "version": version, "first": first_row, "size": window_rows,
              "end": first_row + windows * window_rows, "lo": [r.lo for r in references],
              "scale": [r.scale for r in references],
              "bins": [max(0, len(r.counts) - 2) for r in references], "cat": cat,
              "shift": [r.shift for r in references]}
    got = store.cursor().execute(_COUNTS, params).fetchnumpy()
    w, f, key, n = (np.asarray(got[c], dtype=np.float64) for c in ("w", "f", "key", "n"))
    return tally(references, windows, w, f, key, n)


def model_version_of(store: Store, deployment: str, version: str) -> dict[str, Any] | None:
    """The registry row of the model version a deployment's version serves."""
    rows = store.rows(
        "SELECT mv.id, mv.name, mv.version, mv.run_id, mv.train_data, mv.holdout_data, mv.target, "
        "mv.exclude, mv.sensitive FROM deployment_versions dv "
        "JOIN model_versions mv ON mv.id = dv.model_version_id "
        "WHERE dv.deployment = ? AND dv.version = ?", [deployment, version],
        json_columns={"exclude"})
    return rows[0] if rows else None


def run_inputs(store: Store, run_id: str) -> list[tuple[str, str, str]]:
    """A run's data inputs: (name, hash, path)."""
    rows = store.cursor().execute(
        "SELECT name, dataset_hash, path FROM run_inputs WHERE run_id = ? ORDER BY name", [run_id]).fetchall()
    return [(str(r[0]), str(r[1] or ""), str(r[2] or "")) for r in rows]


def reference(store: Store, model_version_id: str) -> tuple[DriftReference, list[FeatureReference]] | None:
    row = store.cursor().execute(
        "SELECT source, rows, features, problem, created_at FROM drift_references "
        "WHERE model_version_id = ?", [model_version_id]).fetchone()
    if row is None:
        return None
    features = [FeatureReference.of(f) for f in json.loads(row[2])]
    return DriftReference(model_version_id=model_version_id, source=row[0], rows=int(row[1]),
                          features=[f.name for f in features], kinds=[f.kind for f in features],
                          problem=row[3], created_at=_utc(row[4])), features


def next_row(store: Store, deployment: str, version: str) -> int:
    """The number the next sampled row of a deployment version gets."""
    row = store.cursor().execute(
        "SELECT coalesce(max(next_row), 0) FROM drift_cursors WHERE deployment = ? AND version = ?",
        [deployment, version]).fetchone()
    return int(row[0]) if row else 0


def cursors(store: Store) -> dict[tuple[str, str, str], int]:
    """(deployment, version, server instance) -> the sequence number read up to."""
    rows = store.cursor().execute("SELECT deployment, version, instance, seq FROM drift_cursors").fetchall()
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def collected(store: Store, deployment: str, version: str) -> tuple[int, int]:
    """Rows sampled from a deployment version so far, and rows its servers dropped."""
    row = store.cursor().execute(
        "SELECT coalesce(max(next_row), 0), coalesce(sum(dropped), 0) FROM drift_cursors "
        "WHERE deployment = ? AND version = ?", [deployment, version]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def checked_up_to(store: Store, deployment: str, version: str) -> tuple[int, int]:
    """(the next window's index, its first row) of a deployment version."""
    row = store.cursor().execute(
        "SELECT coalesce(max(idx) + 1, 0), coalesce(max(first_row + rows), 0) FROM drift_windows "
        "WHERE deployment = ? AND version = ?", [deployment, version]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def windows(store: Store, deployment: str, version: str, limit: int) -> list[DriftWindow]:
    """The last `limit` windows of a deployment version, oldest first."""
    rows = store.cursor().execute(
        "SELECT idx, version, first_row, rows, checked_at, drifted, features FROM drift_windows "
        "WHERE deployment = ? AND version = ? ORDER BY idx DESC LIMIT ?",
        [deployment, version, limit]).fetchall()
    found = []
    for r in reversed(rows):
        scores = [FeatureScore.of(f) for f in json.loads(r[6])]
        found.append(DriftWindow(index=int(r[0]), version=r[1], first_row=int(r[2]), rows=int(r[3]),
                                 checked_at=_utc(r[4]), drifted=bool(r[5]),
                                 drifted_features=[s.feature for s in scores if s.drifted],
                                 features=scores))
    return found


def reviews(store: Store, deployment: str, limit: int = 20) -> list[DriftReview]:
    rows = store.cursor().execute(
        "SELECT id, deployment, version, opened_at, features, message FROM drift_reviews "
        "WHERE deployment = ? ORDER BY opened_at DESC LIMIT ?", [deployment, limit]).fetchall()
    return [DriftReview(id=r[0], deployment=r[1], version=r[2], opened_at=_utc(r[3]),
                        features=list(json.loads(r[4])), message=r[5]) for r in rows]


def has_open_review(store: Store, deployment: str, version: str) -> bool:
    row = store.cursor().execute(
        "SELECT count(*) FROM drift_reviews WHERE deployment = ? AND version = ? AND status = 'open'",
        [deployment, version]).fetchone()
    return bool(row and row[0])


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)
