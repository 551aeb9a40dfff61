"""Open Inference Protocol (KServe v2) bodies: JSON tensors, and Triton's binary extension.

A request body is JSON, or (binary extension) a JSON header of
`Inference-Header-Content-Length` bytes followed by the raw bytes of each input
whose `parameters.binary_data_size` is set, in order. Outputs come back as JSON
lists, or as raw bytes after the JSON when the client asks with
`parameters.binary_data`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlopslab.serving.model import DTYPES, Tensor

try:  # a faster JSON codec when present; the stdlib otherwise
    import orjson

    def loads(data: bytes) -> Any:
        return orjson.loads(data)

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover
    def loads(data: bytes) -> Any:
        return json.loads(data)

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


class BadRequest(Exception):
    """The request is wrong; `status` is the 4xx to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class InferRequest:
    feeds: dict[str, np.ndarray]
    rows: int
    id: str | None = None
    binary_outputs: set[str] = field(default_factory=set)
    wanted: list[str] | None = None  # output names asked for; None: all


def parse_infer(body: bytes, header_length: int | None, inputs: list[Tensor], outputs: list[Tensor],
                max_rows: int) -> InferRequest:
    """Check and decode an infer request against the model's tensors."""
    head, tail = _split(body, header_length)
    try:
        doc = loads(head)
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list):
        raise BadRequest("the body must be a JSON object with an 'inputs' list")
    expected = {t.name: t for t in inputs}
    feeds: dict[str, np.ndarray] = {}
    offset = 0
    for item in doc["inputs"]:
        array, offset = _decode(item, expected, tail, offset)
        feeds[item["name"]] = array
    missing = sorted(set(expected) - set(feeds))
    if missing:
        raise BadRequest(f"missing {'input' if len(missing) == 1 else 'inputs'} {', '.join(missing)}; the model takes "
                         f"{', '.join(expected)}")
    rows = _rows(feeds, inputs)
    if rows > max_rows:
        raise BadRequest(f"{rows} rows in one request; at most {max_rows}", status=413)
    request = InferRequest(feeds, rows, id=doc.get("id"))
    _outputs(doc, request, {t.name for t in outputs})
    return request


def _split(body: bytes, header_length: int | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if header_length < 0 or header_length > len(body):
        raise BadRequest(f"Inference-Header-Content-Length {header_length} does not fit a "
                         f"body of {len(body)} bytes")
    return body[:header_length], body[header_length:]


def _decode(item: Any, expected: dict[str, Tensor], tail: bytes, offset: int) -> tuple[np.ndarray, int]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise BadRequest("each input needs a 'name'")
    name = item["name"]
    tensor = expected.get(name)
    if tensor is None:
        raise BadRequest(f"unknown input '{name}'; the model takes {', '.join(expected)}")
    shape = item.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise BadRequest(f"input '{name}': 'shape' must be a list of non-negative integers")
    if item.get("datatype") != tensor.datatype:
        raise BadRequest(f"input '{name}': datatype {item.get('datatype')!r}, the model takes "
                         f"{tensor.datatype}")
    _check_shape(name, shape, tensor.shape)
    size = (item.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        array, offset = _binary(name, tail, offset, size, tensor), offset + size
    else:
        array = _json_data(name, item.get("data"), tensor)
    count = int(np.prod(shape))
    if array.size != count:
        raise BadRequest(f"input '{name}': shape {shape} needs {count} values, got {array.size}")
    return array.reshape(shape), offset


def _check_shape(name: str, shape: list[int], model: tuple[int, ...]) -> None:
    fits = len(shape) == len(model) and all(m < 0 or m == d for d, m in zip(shape, model, strict=True))
    if not fits:
        pretty = [d if d >= 0 else -1 for d in model]
        raise BadRequest(f"input '{name}': shape {shape} does not fit the model's {pretty} "
                         "(-1: any size)")


def _binary(name: str, tail: bytes, offset: int, size: Any, tensor: Tensor) -> np.ndarray:
    if not isinstance(size, int) or size < 0 or offset + size > len(tail):
        raise BadRequest(f"input '{name}': binary_data_size {size} runs past the body")
    if size % np.dtype(tensor.dtype).itemsize:
        raise BadRequest(f"input '{name}': {size} bytes is not a whole number of {tensor.datatype}")
    return np.frombuffer(tail, dtype=tensor.dtype, count=size // np.dtype(tensor.dtype).itemsize,
                         offset=offset)


def _json_data(name: str, data: Any, tensor: Tensor) -> np.ndarray:
    if not isinstance(data, list):
        raise BadRequest(f"input '{name}': 'data' must be a list")
    try:
        return np.asarray(data, dtype=tensor.dtype).reshape(-1)
    except (ValueError, TypeError) as e:
        raise BadRequest(f"input '{name}': data is not {tensor.datatype}: {e}") from None


def _rows(feeds: dict[str, np.ndarray], inputs: list[Tensor]) -> int:
    firsts = {feeds[t.name].shape[0] for t in inputs if t.shape and feeds[t.name].ndim}
    if len(firsts) > 1:
        raise BadRequest(f"inputs disagree on the batch size: {sorted(firsts)}")
    return firsts.pop() if firsts else 1


def _outputs(doc: dict[str, Any], request: InferRequest, names: set[str]) -> None:
    all_binary = bool((doc.get("parameters") or {}).get("binary_data_output"))
    asked = doc.get("outputs")
    if asked is None:
        request.binary_outputs = set(names) if all_binary else set()
        return
    if not isinstance(asked, list):
        raise BadRequest("'outputs' must be a list")
    request.wanted = []
    for item in asked:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in names:
            raise BadRequest(f"unknown output {name!r}; the model gives {', '.join(sorted(names))}")
        request.wanted.append(name)
        if all_binary or (item.get("parameters") or {}).get("binary_data"):
            request.binary_outputs.add(name)


def encode_infer(model_name: str, version: str, request: InferRequest, outputs: list[Tensor],
                 values: dict[str, np.ndarray]) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary outputs follow it."""
    chosen = [t for t in outputs if request.wanted is None or t.name in request.wanted]
    described, blobs = [], []
    for tensor in chosen:
        value = np.ascontiguousarray(values[tensor.name])
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype,
                                 "shape": list(value.shape)}
        if tensor.name in request.binary_outputs:
            blob = value.tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = value.reshape(-1).tolist()
        described.append(entry)
    doc: dict[str, Any] = {"model_name": model_name, "model_version": version, "outputs": described}
    if request.id is not None:
        doc["id"] = request.id
    head = dumps(doc)
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)


__all__ = ["DTYPES", "BadRequest", "InferRequest", "dumps", "encode_infer", "loads", "parse_infer"]
