"""Drift events: sampled rows, training data profiles, checked windows, review items.

Applied inside the service's group transaction like every other event kind
(store/writes.py). Sampled rows are kept one row per served row, its features in one
`DOUBLE[]` column (`x`): measured against long (feature, value) rows on 1,000,000 rows
x 30 features, the list column inserts 3x faster and bins as fast or faster
(benchmarks/README.md, "Drift").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlopslab.core.clock import utc_naive
from mlopslab.core.monitor_events import (
    DriftReferenceProfiled,
    DriftReviewOpened,
    DriftSampled,
    DriftWindowChecked,
)

if TYPE_CHECKING:
    import duckdb


def sample_table(deployment: str, version: str, first_row: int, ts: float, rows: Any) -> pa.Table:
    """Rows (rows x features) as the Arrow table `drift_samples` takes."""
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim != 2:
        x = x.reshape(len(x), -1)
    n, width = x.shape
    lists = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), width).cast(pa.list_(pa.float64()))
    return pa.table({
        "deployment": pa.array([deployment] * n, pa.string()),
        "version": pa.array([version] * n, pa.string()),
        "row_no": pa.array(np.arange(first_row, first_row + n, dtype=np.int64)),
        "ts": pa.array(np.full(n, int(ts * 1_000_000), dtype=np.int64), pa.timestamp("us")),
        "x": lists})


def insert_samples(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("drift_sample_batch", table)
    try:
        con.execute("INSERT INTO drift_samples SELECT * FROM drift_sample_batch")
    finally:
        con.unregister("drift_sample_batch")


def _sampled(con: duckdb.DuckDBPyConnection, event: DriftSampled) -> None:
    key = [event.deployment, event.version]
    if len(event.rows):
        insert_samples(con, sample_table(event.deployment, event.version, event.first_row, event.ts,
                                         event.rows))
    con.execute(
        "INSERT INTO drift_cursors VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "seq = excluded.seq, next_row = excluded.next_row, "
        "dropped = drift_cursors.dropped + excluded.dropped, updated_at = excluded.updated_at",
        [*key, event.instance, event.seq, event.first_row + len(event.rows), event.dropped,
         utc_naive(event.ts)])
    if event.keep_from:
        con.execute("DELETE FROM drift_samples WHERE deployment = ? AND version = ? AND row_no < ?",
                    [*key, event.keep_from])


def _reference(con: duckdb.DuckDBPyConnection, event: DriftReferenceProfiled) -> None:
    con.execute(
        "INSERT INTO drift_references VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "source = excluded.source, rows = excluded.rows, features = excluded.features, "
        "problem = excluded.problem, created_at = excluded.created_at",
        [event.model_version_id, event.source, event.rows, json.dumps(list(event.features)),
         event.problem, utc_naive(event.ts)])


def _window(con: duckdb.DuckDBPyConnection, event: DriftWindowChecked) -> None:
    con.execute(
        "INSERT INTO drift_windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [event.deployment, event.version, event.model_version_id, event.index, event.first_row,
         event.rows, utc_naive(event.ts), event.drifted, json.dumps(list(event.features))])


def _review(con: duckdb.DuckDBPyConnection, event: DriftReviewOpened) -> None:
    con.execute(
        "INSERT INTO drift_reviews VALUES (?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT DO NOTHING",
        [event.id, event.deployment, event.version, event.model_version_id, utc_naive(event.ts),
         json.dumps(list(event.features)), event.message])


DRIFT_WRITERS: dict[type[Any], Callable[[duckdb.DuckDBPyConnection, Any], None]] = {
    DriftSampled: _sampled,
    DriftReferenceProfiled: _reference,
    DriftWindowChecked: _window,
    DriftReviewOpened: _review,
}
