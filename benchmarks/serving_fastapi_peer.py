"""The plain peer: FastAPI + ONNX Runtime, the server people write first.

    python benchmarks/serving_fastapi_peer.py MODEL.onnx PORT

Same Open Inference Protocol JSON as mlopslab's server (pydantic models for the
body), one `session.run` per request, uvicorn with uvloop and httptools.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferRequest(BaseModel):
    inputs: list[Tensor]


def make_app(model: str) -> FastAPI:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    output = session.get_outputs()[0].name
    app = FastAPI()

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: InferRequest) -> dict[str, Any]:
        t = request.inputs[0]
        x = np.asarray(t.data, dtype=np.float32).reshape(t.shape)
        y = session.run([output], {t.name: x})[0]
        return {"model_name": name, "outputs": [{"name": output, "datatype": "FP32", "shape": list(y.shape),
                                                 "data": y.ravel().tolist()}]}

    @app.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                access_log=False, backlog=2048)
