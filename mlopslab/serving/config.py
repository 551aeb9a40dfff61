"""Settings of one model server; parsed from the command line in __main__."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerConfig:
    """Everything one server process needs to know."""

    model_path: str
    name: str  # the model name clients use in /v2/models/{name}
    version: str = "1"
    host: str = "127.0.0.1"  # localhost only unless asked otherwise
    port: int = 8080
    max_batch_size: int = 32  # rows per ONNX Runtime call; 1 turns batching off
    max_wait_ms: float = 2.0  # how long the first request of a batch waits for company
    max_queue: int = 256  # requests waiting or running; more are answered 503
    max_body_bytes: int = 8 * 1024 * 1024  # larger request bodies are answered 413
    max_rows: int = 4096  # rows in one request; more are answered 413
    retry_after_s: int = 1  # the Retry-After header of a 503
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    intra_op_threads: int = 1  # ONNX Runtime threads per call
    drain_timeout_s: float = 10.0  # graceful shutdown: time given to in-flight requests
    sample_rate: float = 1.0  # share of input rows kept for drift checks (0: none); serving/sampling.py
    sample_rows: int = 10_000  # the sample's ring buffer: the latest rows kept until read

    @property
    def batching(self) -> bool:
        return self.max_batch_size > 1
