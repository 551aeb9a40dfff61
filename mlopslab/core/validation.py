"""Checking input tables against a recipe's declared data schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from mlopslab.core.recipe import ColumnSpec, DataSchema

MAX_PROBLEMS_PER_COLUMN = 3


def validate_table(table: pa.Table, schema: DataSchema) -> list[str]:
    """Every violation of `schema` in `table`, as readable lines (empty: valid)."""
    problems: list[str] = []
    names = set(table.column_names)
    for name, spec in schema.columns.items():
        if name not in names:
            problems.append(f"column '{name}': missing")
            continue
        problems += [f"column '{name}': {p}" for p in _check_column(table[name], spec)]
    if not schema.allow_extra_columns:
        extra = sorted(names - set(schema.columns))
        if extra:
            problems.append(f"unexpected columns: {', '.join(extra)}")
    return problems


def _check_column(column: pa.ChunkedArray, spec: ColumnSpec) -> list[str]:
    problems = []
    if not _type_fits(column.type, spec.type):
        return [f"type {column.type} is not {spec.type}"]
    nulls = column.null_count
    if nulls and not spec.nullable:
        problems.append(f"{nulls} null {'value' if nulls == 1 else 'values'}, but nullable = false")
    if spec.min is not None or spec.max is not None:
        problems += _check_range(column, spec)
    if spec.allowed is not None:
        problems += _check_allowed(column, spec.allowed)
    return problems


def _type_fits(arrow_type: pa.DataType, wanted: str) -> bool:
    if pa.types.is_null(arrow_type):
        return True
    if wanted == "int":
        return bool(pa.types.is_integer(arrow_type))
    if wanted == "float":
        return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))
    if wanted == "bool":
        return bool(pa.types.is_boolean(arrow_type))
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _check_range(column: pa.ChunkedArray, spec: ColumnSpec) -> list[str]:
    problems = []
    if spec.min is not None:
        low = pc.less(column, spec.min)
        problems += _violations(column, low, f"below the minimum {spec.min:g}")
    if spec.max is not None:
        high = pc.greater(column, spec.max)
        problems += _violations(column, high, f"above the maximum {spec.max:g}")
    return problems


def _check_allowed(column: pa.ChunkedArray, allowed: list[Any]) -> list[str]:
    if column.null_count == len(column):
        return []
    inside = pc.is_in(column, value_set=pa.array(allowed, type=column.type), skip_nulls=True)
    outside = pc.and_(pc.invert(inside), pc.is_valid(column))
    return _violations(column, outside, f"not one of {allowed}")


def _violations(column: pa.ChunkedArray, mask: pa.ChunkedArray, what: str) -> list[str]:
    mask = pc.fill_null(mask, False)
    count = pc.sum(mask).as_py() or 0
    if not count:
        return []
    rows = pc.indices_nonzero(mask.combine_chunks())[:MAX_PROBLEMS_PER_COLUMN].to_pylist()
    examples = ", ".join(f"row {r + 1}: {column[r].as_py()!r}" for r in rows)
    return [f"{count} {'value' if count == 1 else 'values'} {what} ({examples})"]
