"""Small ONNX models made with onnx.helper, for the serving and deployment tests.

- `mlp`: x[N,4] float -> y[N,3] = relu(x W1 + b1) W2 + b2; `scale` changes the weights,
  so two "versions" give different outputs.
- `slow`: like mlp, plus one (size x size) @ (size x size) matmul per call that
  depends on the input (so it is not folded away): a model that takes milliseconds.
- `fails_on_real_data`: passes the server's warm-up on zeros, then fails on any
  row whose first feature is >= 1 (a Gather out of range): a version that is ready
  but errors under real traffic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FEATURES, CLASSES = 4, 3


def _weights(scale: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"W1": (rng.normal(size=(FEATURES, 16)) * scale).astype(np.float32),
            "b1": rng.normal(size=16).astype(np.float32),
            "W2": (rng.normal(size=(16, CLASSES)) * scale).astype(np.float32),
            "b2": rng.normal(size=CLASSES).astype(np.float32)}


def _mlp_nodes(out: str = "y") -> list[onnx.NodeProto]:
    return [helper.make_node("MatMul", ["x", "W1"], ["h0"]), helper.make_node("Add", ["h0", "b1"], ["h1"]),
            helper.make_node("Relu", ["h1"], ["h2"]), helper.make_node("MatMul", ["h2", "W2"], ["h3"]),
            helper.make_node("Add", ["h3", "b2"], [out])]


def _save(path: Path, nodes: list[onnx.NodeProto], inits: dict[str, np.ndarray]) -> Path:
    graph = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", CLASSES])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def mlp(path: Path, scale: float = 1.0) -> Path:
    return _save(path, _mlp_nodes(), _weights(scale))


def slow(path: Path, size: int = 384, scale: float = 1.0) -> Path:
    inits = _weights(scale)
    inits["Big"] = np.random.default_rng(1).normal(size=(size, size)).astype(np.float32) / size
    inits["zero"] = np.zeros(1, np.float32)
    nodes = [*_mlp_nodes("y0"),
             helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Mul", ["s", "zero"], ["z"]),  # 0, but known only at run time
             helper.make_node("Add", ["Big", "z"], ["B1"]),
             helper.make_node("MatMul", ["B1", "Big"], ["B2"]),
             helper.make_node("ReduceSum", ["B2"], ["t"], keepdims=0),
             helper.make_node("Mul", ["t", "zero"], ["t0"]),
             helper.make_node("Add", ["y0", "t0"], ["y"])]
    return _save(path, nodes, inits)


def fails_on_real_data(path: Path) -> Path:
    inits = _weights(1.0)
    inits["table"] = np.zeros(1, np.float32)
    inits["col"] = np.array([0], np.int64)
    nodes = [*_mlp_nodes("y0"),
             helper.make_node("Gather", ["x", "col"], ["first"], axis=1),  # [N,1]
             helper.make_node("Cast", ["first"], ["idx"], to=TensorProto.INT64),
             helper.make_node("Gather", ["table", "idx"], ["g"]),  # out of range unless 0
             helper.make_node("Add", ["y0", "g"], ["y"])]
    return _save(path, nodes, inits)


def broken(path: Path) -> Path:
    """Not an ONNX model at all: a server can never load it."""
    path.write_bytes(b"this is not an onnx model")
    return path


def rows(n: int, seed: int = 0) -> np.ndarray:
    """Inputs with every value in [1, 3): real data for `fails_on_real_data`."""
    return (np.random.default_rng(seed).random((n, FEATURES)) * 2 + 1).astype(np.float32)
