"""The model server: ONNX Runtime behind the Open Inference Protocol (KServe v2 HTTP).

Importable on its own with onnxruntime, numpy, uvicorn and prometheus-client (the
container image holds nothing else); it never imports the lab's store, Ray or TUI.

    python -m mlopslab.serving --model model.onnx --name iris --port 8080
"""

from __future__ import annotations

from mlopslab.serving.config import ServerConfig

__all__ = ["ServerConfig"]
