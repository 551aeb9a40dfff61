"""An ONNX model under ONNX Runtime: loading on the deployment's provider, its schema,
feeding it holdout rows and reading its outputs.

The provider is chosen as the model server chooses it: CUDA where ONNX Runtime
has it and a GPU answers, else CPU; a gate asks for `cpu` or `cuda` explicitly
when the deployment target differs from this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlopslab.core.errors import MlopslabError, ModelError
from mlopslab.core.model_versions import FeatureSchema, Tensor
from mlopslab.core.scoring import Predictions
from mlopslab.evaluation.runtime import INSTALL_HINT

try:
    import onnxruntime as ort
except ImportError as e:  # a bare `pip install mlopslab` has no runtime
    raise MlopslabError("ONNX Runtime is not installed", INSTALL_HINT) from e

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DTYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


@dataclass
class OnnxModel:
    session: ort.InferenceSession
    provider: str
    schema: FeatureSchema

    def run(self, feed: dict[str, np.ndarray]) -> list[Any]:
        return self.session.run(None, feed)


def providers_for(preference: str) -> list[str]:
    available = ort.get_available_providers()
    if preference == "cuda":
        if CUDA not in available:
            raise ModelError("the latency gate asks for CUDA, and this ONNX Runtime has no CUDA "
                             "provider", "install onnxruntime-gpu, or set latency.provider")
        return [CUDA, CPU]
    if preference == "auto" and CUDA in available:
        return [CUDA, CPU]
    return [CPU]


def load(model: bytes | Path, provider: str = "auto", threads: int = 1) -> OnnxModel:
    """An inference session on the chosen provider; ModelError if the model does not load."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    try:
        session = ort.InferenceSession(source, options, providers=providers_for(provider))
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - ONNX Runtime raises several unrelated types
        raise ModelError(f"the model does not load in ONNX Runtime: {_first_line(e)}") from e
    if provider == "cuda" and session.get_providers()[0] != CUDA:
        raise ModelError("the latency gate asks for CUDA and no GPU took the session")
    return OnnxModel(session, session.get_providers()[0], schema_of(session))


def schema_of(session: ort.InferenceSession) -> FeatureSchema:
    """Input names, types and shapes, output names and types (dynamic dims are None)."""
    def describe(args: list[Any]) -> list[Tensor]:
        return [Tensor(a.name, a.type, [d if isinstance(d, int) else None for d in (a.shape or [])])
                for a in args]
    return FeatureSchema(describe(session.get_inputs()), describe(session.get_outputs()))


def read_table(path: Path) -> pa.Table:
    """A CSV or Parquet file (by its first bytes) as an Arrow table."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"PAR1":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        from pyarrow import csv

        return csv.read_csv(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise ModelError(f"cannot read holdout data {path}: {_first_line(e)}",
                         "give a CSV or Parquet file with a header row") from e


def feature_feed(schema: FeatureSchema, table: pa.Table, skip: set[str]) -> dict[str, np.ndarray]:
    """The model's inputs from holdout columns.

    One 2-D input takes every column except `skip` (target, sensitive attribute,
    declared exclusions), in the table's order; otherwise each input is the
    column of its name.
    """
    inputs = schema.inputs
    if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].name not in table.column_names:
        spec = inputs[0]
        columns = [c for c in table.column_names if c not in skip]
        width = spec.shape[1]
        if width is not None and width != len(columns):
            raise ModelError(
                f"the model's input '{spec.name}' takes {width} features; the holdout has "
                f"{len(columns)} columns besides {sorted(skip)}",
                "exclude the columns that are no model input (--exclude / [model].exclude)")
        dtype = DTYPES.get(spec.type, np.float32)
        try:
            stacked = np.column_stack([_column(table, c, dtype) for c in columns])
        except ValueError as e:
            raise ModelError(f"holdout columns do not convert to {spec.type}: {e}") from e
        return {spec.name: stacked}
    feed = {}
    for spec in inputs:
        if spec.name not in table.column_names:
            raise ModelError(f"the model's input '{spec.name}' is no column of the holdout data")
        values = _column(table, spec.name, DTYPES.get(spec.type, np.float32))
        feed[spec.name] = values.reshape(-1, 1) if len(spec.shape) == 2 else values
    return feed


def _column(table: pa.Table, name: str, dtype: Any) -> np.ndarray:
    values = table[name].to_numpy(zero_copy_only=False)
    return values.astype(str) if dtype is np.str_ else values.astype(dtype)


def rows(feed: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
    """The first `count` rows of every input, repeating the data when it has fewer."""
    out = {}
    for name, values in feed.items():
        reps = -(-count // len(values))
        out[name] = np.concatenate([values] * reps)[:count] if reps > 1 else values[:count]
    return out


def predictions(schema: FeatureSchema, outputs: list[Any], y: np.ndarray) -> Predictions | np.ndarray:
    """Labels and class scores of a classifier, or the values of a regressor."""
    labels, scores = None, None
    for value in outputs:
        if isinstance(value, list) and value and isinstance(value[0], dict):  # ZipMap output
            keys = sorted(value[0])
            value = np.array([[row[k] for k in keys] for row in value], dtype=np.float64)
        array = np.asarray(value)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if labels is None and array.ndim == 1 and array.dtype.kind in "iuUOb":
            labels = array
        elif scores is None and array.ndim == 2 and array.dtype.kind == "f":
            scores = array
    if labels is None and scores is None:
        first = np.asarray(outputs[0]).reshape(len(y), -1)
        return first[:, 0] if first.shape[1] == 1 else first.argmax(axis=1)
    classes = None
    if scores is not None:
        known = np.unique(np.concatenate([np.unique(y), np.unique(labels)])) if labels is not None else None
        classes = known if known is not None and len(known) == scores.shape[1] else np.arange(scores.shape[1])
        if labels is None:
            labels = classes[scores.argmax(axis=1)]
    assert labels is not None
    if labels.dtype.kind in "UO" and y.dtype.kind in "iu":
        labels = labels.astype(y.dtype)
    return Predictions(labels=labels, scores=scores, classes=classes)


def nonfinite(outputs: list[Any]) -> int:
    """Count of NaN or infinite numbers among the float outputs."""
    count = 0
    for value in outputs:
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [list(row.values()) for row in value]
        array = np.asarray(value)
        if array.dtype.kind == "f":
            count += int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    return count


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
