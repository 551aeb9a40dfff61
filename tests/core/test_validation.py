"""Tests of checking input tables against a data schema (mlopslab.core.validation)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from mlopslab.core.recipe import ColumnSpec, DataSchema
from mlopslab.core.validation import validate_table


def schema(allow_extra: bool = True, **columns: dict[str, Any]) -> DataSchema:
    return DataSchema(
        columns={name: ColumnSpec(**spec) for name, spec in columns.items()},
        allow_extra_columns=allow_extra,
    )


CLEAN = pa.table({
    "x": pa.array([0.0, 1.5, 100.0]),
    "n": pa.array([0, 5, 9], pa.int64()),
    "group": pa.array(["A", "B", "A"]),
    "flag": pa.array([True, False, True]),
})
CLEAN_SCHEMA = schema(
    x={"type": "float", "min": 0, "max": 100},
    n={"type": "int", "min": 0, "max": 9},
    group={"type": "str", "allowed": ["A", "B"]},
    flag={"type": "bool"},
)


def test_clean_table_has_no_problems() -> None:
    assert validate_table(CLEAN, CLEAN_SCHEMA) == []


def test_clean_table_with_bounds_exactly_met_is_valid() -> None:
    # min and max are inclusive
    table = pa.table({"x": [0.0, 100.0]})
    assert validate_table(table, schema(x={"type": "float", "min": 0, "max": 100})) == []


def test_int_column_satisfies_a_float_spec() -> None:
    table = pa.table({"x": pa.array([1, 2], pa.int32())})
    assert validate_table(table, schema(x={"type": "float"})) == []


def test_large_string_satisfies_a_str_spec() -> None:
    table = pa.table({"s": pa.array(["a"], pa.large_string())})
    assert validate_table(table, schema(s={"type": "str"})) == []


def test_missing_column() -> None:
    table = CLEAN.drop_columns(["n"])
    assert validate_table(table, CLEAN_SCHEMA) == ["column 'n': missing"]


@pytest.mark.parametrize(
    ("array", "wanted"),
    [
        (pa.array([1.5]), "int"),
        (pa.array(["1"]), "float"),
        (pa.array([1]), "str"),
        (pa.array([1]), "bool"),
        (pa.array([True]), "int"),
    ],
)
def test_wrong_type(array: pa.Array, wanted: str) -> None:
    problems = validate_table(pa.table({"c": array}), schema(c={"type": wanted}))
    assert problems == [f"column 'c': type {array.type} is not {wanted}"]


def test_wrong_type_stops_further_checks_of_that_column() -> None:
    table = pa.table({"c": pa.array(["x", None])})
    problems = validate_table(table, schema(c={"type": "int", "min": 0}))
    assert len(problems) == 1 and "is not int" in problems[0]


def test_nulls_when_not_nullable() -> None:
    table = pa.table({"x": pa.array([1.0, None, None])})
    assert validate_table(table, schema(x={"type": "float"})) == [
        "column 'x': 2 null values, but nullable = false"
    ]


def test_nulls_when_nullable() -> None:
    table = pa.table({"x": pa.array([1.0, None])})
    assert validate_table(table, schema(x={"type": "float", "nullable": True, "min": 0})) == []


def test_below_min_with_row_examples() -> None:
    table = pa.table({"x": pa.array([5.0, -1.0, 3.0, -2.5])})
    assert validate_table(table, schema(x={"type": "float", "min": 0})) == [
        "column 'x': 2 values below the minimum 0 (row 2: -1.0, row 4: -2.5)"
    ]


def test_above_max_with_row_examples() -> None:
    table = pa.table({"n": pa.array([1, 11, 2, 12], pa.int64())})
    assert validate_table(table, schema(n={"type": "int", "max": 10})) == [
        "column 'n': 2 values above the maximum 10 (row 2: 11, row 4: 12)"
    ]


def test_examples_are_capped_but_the_count_is_complete() -> None:
    table = pa.table({"x": pa.array([-1.0] * 10)})
    [problem] = validate_table(table, schema(x={"type": "float", "min": 0}))
    assert problem.startswith("column 'x': 10 values below the minimum 0 (")
    assert problem.count("row ") == 3
    assert "row 1: -1.0, row 2: -1.0, row 3: -1.0" in problem


def test_rows_are_counted_across_chunks() -> None:
    column = pa.chunked_array([pa.array([1.0, 2.0]), pa.array([3.0, -4.0])])
    table = pa.table({"x": column})
    assert validate_table(table, schema(x={"type": "float", "min": 0})) == [
        "column 'x': 1 value below the minimum 0 (row 4: -4.0)"
    ]


def test_null_and_range_problems_are_both_reported() -> None:
    table = pa.table({"x": pa.array([None, -1.0, 200.0])})
    problems = validate_table(table, schema(x={"type": "float", "min": 0, "max": 100}))
    assert problems == [
        "column 'x': 1 null value, but nullable = false",
        "column 'x': 1 value below the minimum 0 (row 2: -1.0)",
        "column 'x': 1 value above the maximum 100 (row 3: 200.0)",
    ]


def test_values_not_allowed() -> None:
    table = pa.table({"group": pa.array(["A", "C", "B", "D"])})
    assert validate_table(table, schema(group={"type": "str", "allowed": ["A", "B"]})) == [
        "column 'group': 2 values not one of ['A', 'B'] (row 2: 'C', row 4: 'D')"
    ]


def test_allowed_ignores_nulls_when_nullable() -> None:
    table = pa.table({"group": pa.array(["A", None])})
    spec = {"type": "str", "allowed": ["A", "B"], "nullable": True}
    assert validate_table(table, schema(group=spec)) == []


def test_null_with_allowed_is_reported_once() -> None:
    table = pa.table({"group": pa.array(["A", None])})
    assert validate_table(table, schema(group={"type": "str", "allowed": ["A", "B"]})) == [
        "column 'group': 1 null value, but nullable = false"
    ]


def test_allowed_ints() -> None:
    table = pa.table({"k": pa.array([1, 2, 7], pa.int64())})
    assert validate_table(table, schema(k={"type": "int", "allowed": [1, 2]})) == [
        "column 'k': 1 value not one of [1, 2] (row 3: 7)"
    ]


def test_extra_columns_when_not_allowed() -> None:
    table = CLEAN.append_column("zeta", pa.array([1, 2, 3])).append_column(
        "alpha", pa.array([1, 2, 3]))
    strict = DataSchema(columns=CLEAN_SCHEMA.columns, allow_extra_columns=False)
    assert validate_table(table, strict) == ["unexpected columns: alpha, zeta"]


def test_extra_columns_when_allowed() -> None:
    table = CLEAN.append_column("zeta", pa.array([1, 2, 3]))
    assert validate_table(table, CLEAN_SCHEMA) == []


def test_every_column_is_reported() -> None:
    table = pa.table({"x": pa.array([-1.0]), "group": pa.array(["Z"]), "extra": [1]})
    strict = DataSchema(columns=CLEAN_SCHEMA.columns, allow_extra_columns=False)
    problems = validate_table(table, strict)
    assert problems == [
        "column 'x': 1 value below the minimum 0 (row 1: -1.0)",
        "column 'n': missing",
        "column 'group': 1 value not one of ['A', 'B'] (row 1: 'Z')",
        "column 'flag': missing",
        "unexpected columns: extra",
    ]


def test_all_null_column_is_reported_as_nulls() -> None:
    # An empty CSV column is read by pyarrow with type `null`.
    table = pacsv.read_csv(pa.py_buffer(b"x,y\n1,\n2,\n"))
    assert pa.types.is_null(table["y"].type)
    assert validate_table(table, schema(y={"type": "float", "min": 0})) == [
        "column 'y': 2 null values, but nullable = false"
    ]


def test_all_null_column_with_allowed_values() -> None:
    table = pacsv.read_csv(pa.py_buffer(b"x,group\n1,\n2,\n"))
    problems = validate_table(table, schema(group={"type": "str", "allowed": ["A", "B"]}))
    assert problems == ["column 'group': 2 null values, but nullable = false"]


def test_bundled_recipe_data_is_valid() -> None:
    from pathlib import Path

    from mlopslab.core.recipe import load_recipe

    root = Path(__file__).resolve().parents[2] / "recipes"
    for name in ("tabular-classifier", "mlp-digits"):
        recipe = load_recipe(root / name)
        table = pacsv.read_csv(recipe.data_path("train"))
        data_schema = recipe.data["train"].schema_
        assert data_schema is not None
        assert validate_table(table, data_schema) == [], name
