"""A model as ONNX bytes, for `run.log_model`: an ONNX file or its bytes as they are, a
scikit-learn estimator through skl2onnx, a torch module through torch.onnx (the
TorchScript exporter: the dynamo one needs onnxscript). The input is named `input`,
its first axis (the batch) dynamic, as the lab's model server and gates expect."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from mlopslab.core.errors import MlopslabError


def onnx_bytes(model: Any, sample_input: Any = None) -> bytes:
    if isinstance(model, bytes | bytearray):
        return bytes(model)
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise MlopslabError(f"log_model: {path} is not a file", "give an .onnx file, or the model itself")
        return path.read_bytes()
    kind = type(model).__module__.split(".")[0]
    if kind == "sklearn":
        return _sklearn(model, _need_sample(sample_input, "scikit-learn"))
    if kind == "torch" or _is_torch_module(model):
        return _torch(model, _need_sample(sample_input, "torch"))
    raise MlopslabError(f"log_model: cannot export a {type(model).__name__} to ONNX",
                        "give an .onnx file or its bytes, a scikit-learn estimator or a torch module")


def _need_sample(sample_input: Any, library: str) -> Any:
    if sample_input is None:
        raise MlopslabError(f"log_model: a {library} model needs sample_input= (a batch of inputs) "
                            "to export to ONNX", "e.g. run.log_model(model, sample_input=X[:1])")
    return sample_input


def _sklearn(model: Any, sample_input: Any) -> bytes:
    import numpy as np
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    width = int(np.asarray(sample_input).reshape(len(sample_input), -1).shape[1])
    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    proto = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, width]))],
                            options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    return bytes(proto.SerializeToString())


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def _torch(model: Any, sample_input: Any) -> bytes:
    import torch

    example = sample_input if isinstance(sample_input, torch.Tensor) else torch.as_tensor(sample_input)
    buffer = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        torch.onnx.export(model, (example.float(),), buffer, dynamo=False, input_names=["input"],  # type: ignore[arg-type]
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    finally:
        model.train(was_training)
    return buffer.getvalue()
