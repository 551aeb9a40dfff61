"""Row identity for the leak check: keys over feature values, training rows as a multiset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopslab.core.model_versions import TrainingRows, UnknownTrainingRows
from mlopslab.evaluation.rows import (
    key_columns,
    overlap,
    row_keys,
    seen_rows,
    trained_keys,
    training_rows,
)


def table(**columns: list[object]) -> pa.Table:
    return pa.table(columns)


def test_a_row_is_its_feature_values_not_their_spelling() -> None:
    ints = table(a=[1, 2], b=["x", "y"])
    floats = table(a=[1.0, 2.0], b=["x", "y"])
    assert list(row_keys(ints, ["a", "b"])) == list(row_keys(floats, ["a", "b"]))
    assert row_keys(table(a=[0.0], b=["x"]), ["a", "b"])[0] == row_keys(table(a=[-0.0], b=["x"]), ["a", "b"])[0]


def test_different_values_give_different_keys() -> None:
    keys = row_keys(table(a=[1.0, 1.0, 2.0], b=["x", "y", "x"]), ["a", "b"])
    assert len(set(keys.tolist())) == 3
    # text "1" is not the number 1, and null is not the text "None"
    assert row_keys(table(a=["1"]), ["a"])[0] != row_keys(table(a=[1]), ["a"])[0]
    assert row_keys(table(a=[None]), ["a"])[0] != row_keys(table(a=["None"]), ["a"])[0]


def test_the_target_is_no_part_of_a_row() -> None:
    """A relabelled copy of a training row is still a row the model has seen."""
    a = table(x=[1.5], target=[0])
    b = table(x=[1.5], target=[1])
    cols = key_columns(a, {"target"})
    assert cols == ["x"]
    assert row_keys(a, cols)[0] == row_keys(b, cols)[0]


def test_training_rows_are_input_minus_holdout_counted() -> None:
    inputs = row_keys(table(x=[1.0, 2.0, 3.0, 3.0]), ["x"])  # row 3 twice
    holdout = row_keys(table(x=[2.0, 3.0]), ["x"])
    trained = trained_keys([inputs], holdout)
    # 1 was trained on; 2 was held out; 3 appears twice and was held out once: trained on once
    assert sorted(trained.tolist()) == sorted(row_keys(table(x=[1.0, 3.0]), ["x"]).tolist())
    assert overlap(holdout, trained).seen == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=60), st.data())
def test_no_training_row_is_ever_missed(values: list[int], data: st.DataObject) -> None:
    """Whatever the split, every row left out of the holdout counts as trained on, and a
    holdout row counts as seen only if a copy of it stayed in training."""
    rows = table(x=[float(v) for v in values])
    picked = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    held = rows.filter(pa.array(picked))
    train = rows.filter(pa.array([not p for p in picked]))
    trained = trained_keys([row_keys(rows, ["x"])], row_keys(held, ["x"]))
    assert set(row_keys(train, ["x"]).tolist()) <= set(trained.tolist())
    train_values = {v for v, p in zip(values, picked, strict=True) if not p}
    expected_seen = sum(1 for v, p in zip(values, picked, strict=True) if p and v in train_values)
    assert overlap(row_keys(held, ["x"]), trained).seen == expected_seen


def test_seen_rows_from_a_stored_record(tmp_path: Path) -> None:
    data = table(x=[1.0, 2.0, 3.0, 4.0], group=["A", "B", "A", "B"], target=[0, 1, 0, 1])
    holdout = data.slice(2)
    record = training_rows(tmp_path, [("train", data)], holdout, {"target", "group"}, holdout)
    assert isinstance(record, TrainingRows) and record.rows == 2 and record.columns == ["x"]
    assert seen_rows(tmp_path, record, holdout).seen == 0  # type: ignore[union-attr]
    assert seen_rows(tmp_path, record, data).seen == 2  # type: ignore[union-attr]
    assert "lacks" in str(seen_rows(tmp_path, record, table(y=[1.0])))
    assert seen_rows(tmp_path, UnknownTrainingRows("no inputs"), data) == "no inputs"
    assert "before" in str(seen_rows(tmp_path, None, data))


def test_keys_are_stable_across_processes() -> None:
    """Keys are stored and compared later, in another process: they must not depend on
    Python's per-process hash seed."""
    import subprocess
    import sys

    code = ("import pyarrow as pa; from mlopslab.evaluation.rows import row_keys; "
            "print(row_keys(pa.table({'a': [1.5], 'b': ['x']}), ['a', 'b'])[0])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1
    assert int(outputs.pop()) == int(row_keys(table(a=[1.5], b=["x"]), ["a", "b"])[0])
    assert np.uint64(0) not in row_keys(table(a=[1.5], b=["x"]), ["a", "b"])
