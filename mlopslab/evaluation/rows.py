"""Row identity: which evaluation rows a model trained on.

A row's key is a 64-bit hash of its feature values (every column but the target,
the sensitive attribute and declared exclusions), read the way the model reads
them: numbers as float64 (so `1`, `1.0` and `1.00` are one value), text as text.
The target is left out on purpose: a relabelled copy of a training row is still
a row the model has seen.

Training rows are a multiset. A run's training rows are its input rows minus its
holdout rows, counted: a row that appears twice in the input and once in the
holdout was trained on once. That over-approximates (a recipe may train on fewer
rows) and never under-approximates, which is the safe side for a leak check.
Keys are stored as an artifact: sorted unique little-endian uint64.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from mlopslab.artifacts import put_bytes, verified
from mlopslab.core.model_versions import TrainingRows, UnknownTrainingRows


@dataclass(frozen=True)
class Overlap:
    """How many evaluation rows a model trained on."""

    rows: int  # evaluation rows
    seen: int  # of those, rows whose features the model trained on


def key_columns(table: pa.Table, skip: set[str]) -> list[str]:
    return [c for c in table.column_names if c not in skip]


def row_keys(table: pa.Table, columns: list[str]) -> np.ndarray:
    """One uint64 key per row of `table` over `columns` (each must exist)."""
    if table.num_rows == 0:
        return np.empty(0, dtype=np.uint64)
    parts = [_canonical(table[c]) for c in columns]
    matrix = np.ascontiguousarray(np.column_stack(parts)).astype("<u8", copy=False)
    raw = matrix.tobytes()
    width = 8 * len(columns)
    keys = np.empty(table.num_rows, dtype=np.uint64)
    for i in range(table.num_rows):
        digest = hashlib.blake2b(raw[i * width:(i + 1) * width], digest_size=8).digest()
        keys[i] = int.from_bytes(digest, "little")
    return keys


def _canonical(column: pa.ChunkedArray) -> np.ndarray:
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_decimal(kind):
        values = column.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 are one value
        values = np.where(np.isnan(values), np.nan, values)  # one NaN
        return values.view(np.uint64)
    texts = column.to_pylist()
    return np.array([_text_key(v) for v in texts], dtype=np.uint64)


def _text_key(value: object) -> int:
    if value is None:
        return 0x9E3779B97F4A7C15  # null: a fixed key, not the hash of any text
    digest = hashlib.blake2b(str(value).encode(), digest_size=8, person=b"mlopslab-text").digest()
    return int.from_bytes(digest, "little")


def trained_keys(inputs: list[np.ndarray], holdout: np.ndarray) -> np.ndarray:
    """Sorted unique keys of the input rows left after removing the holdout rows (by count)."""
    if not inputs:
        return np.empty(0, dtype=np.uint64)
    keys, counts = np.unique(np.concatenate(inputs), return_counts=True)
    held, held_counts = np.unique(holdout, return_counts=True)
    removed = np.zeros(len(keys), dtype=np.int64)
    if len(held) and len(keys):
        at = np.searchsorted(keys, held)
        hit = at < len(keys)
        hit[hit] = keys[at[hit]] == held[hit]
        np.add.at(removed, at[hit], held_counts[hit])
    return keys[counts > removed]


def overlap(evaluation: np.ndarray, trained: np.ndarray) -> Overlap:
    """How many evaluation rows (counted with repeats) have a trained key."""
    return Overlap(len(evaluation), int(np.isin(evaluation, trained).sum()))


def save_keys(root: Path, keys: np.ndarray) -> str:
    """Store sorted unique keys in the artifact store; their sha256."""
    data = np.unique(keys).astype("<u8").tobytes()
    return put_bytes(root, data)[0]


def load_keys(root: Path, sha256: str) -> np.ndarray:
    return np.frombuffer(verified(root, sha256).read_bytes(), dtype="<u8").astype(np.uint64)


def training_rows(root: Path, inputs: list[tuple[str, pa.Table]], holdout: pa.Table | None,
                  skip: set[str], columns_of: pa.Table) -> TrainingRows | UnknownTrainingRows:
    """What a version records of its training rows, keyed over the feature columns of
    `columns_of` (its holdout); or why they cannot be told."""
    columns = key_columns(columns_of, skip)
    usable = [(label, t) for label, t in inputs if set(columns) <= set(t.column_names)]
    if not usable:
        names = ", ".join(label for label, _ in inputs) or "none"
        return UnknownTrainingRows(f"no training input has the model's feature columns (inputs: {names})")
    held = row_keys(holdout, columns) if holdout is not None else np.empty(0, dtype=np.uint64)
    keys = trained_keys([row_keys(t, columns) for _, t in usable], held)
    return TrainingRows(sha256=save_keys(root, keys), rows=int(len(keys)), columns=columns,
                        inputs=[label for label, _ in usable])


def seen_rows(root: Path, train_rows: TrainingRows | UnknownTrainingRows | None,
              table: pa.Table) -> Overlap | str:
    """How many rows of `table` a version trained on, or why that cannot be told."""
    if train_rows is None:
        return "it was registered before training rows were recorded"
    if isinstance(train_rows, UnknownTrainingRows):
        return train_rows.unknown
    missing = [c for c in train_rows.columns if c not in table.column_names]
    if missing:
        return f"the evaluation data lacks its feature columns {', '.join(missing[:5])}"
    return overlap(row_keys(table, train_rows.columns), load_keys(root, train_rows.sha256))
