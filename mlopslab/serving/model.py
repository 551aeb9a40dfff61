"""One ONNX model in an ONNX Runtime session: its tensors, provider and a warm-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

# ONNX Runtime type -> (Open Inference Protocol datatype, numpy dtype)
TYPES: dict[str, tuple[str, Any]] = {
    "tensor(bool)": ("BOOL", np.bool_),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(uint16)": ("UINT16", np.uint16),
    "tensor(uint32)": ("UINT32", np.uint32),
    "tensor(uint64)": ("UINT64", np.uint64),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(int16)": ("INT16", np.int16),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
}
DTYPES = dict(TYPES.values())


@dataclass(frozen=True)
class Tensor:
    """A model input or output as the protocol describes it; -1 marks a free dimension."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def dtype(self) -> Any:
        return DTYPES[self.datatype]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def _tensor(arg: Any) -> Tensor | None:
    kind = TYPES.get(arg.type)
    if kind is None:  # sequences, maps (e.g. sklearn's ZipMap): not servable as tensors
        return None
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape)
    return Tensor(arg.name, kind[0], shape)


def providers_for(device: str) -> list[str]:
    """CUDA when asked for or (auto) when this onnxruntime build has it; CPU always last."""
    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class Model:
    """The loaded model. `run` takes and gives numpy arrays by tensor name."""

    def __init__(self, path: str, device: str = "auto", intra_op_threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=providers_for(device))
        self.inputs = [t for t in map(_tensor, self.session.get_inputs()) if t]
        self.outputs = [t for t in map(_tensor, self.session.get_outputs()) if t]
        if len(self.inputs) != len(self.session.get_inputs()):
            raise ValueError("the model has an input that is not a tensor")
        if not self.outputs:
            raise ValueError("the model has no tensor output")
        self.output_names = [t.name for t in self.outputs]

    @property
    def provider(self) -> str:
        """The execution provider that really runs (CUDA may have fallen back to CPU)."""
        return self.session.get_providers()[0]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = self.session.run(self.output_names, feeds)
        return dict(zip(self.output_names, values, strict=True))

    def warm_up(self) -> None:
        """One call on zeros with one row: loads kernels, and proves the graph runs."""
        feeds = {t.name: np.zeros([1 if d < 0 else d for d in t.shape], t.dtype) for t in self.inputs}
        self.run(feeds)
