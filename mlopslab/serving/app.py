"""The ASGI application: Open Inference Protocol routes over a Model and a Batcher.

    GET  /v2/health/live                       200 while the process runs
    GET  /v2/health/ready                      200 once the model is loaded and warm
    GET  /v2                                   server metadata
    GET  /v2/models/{name}[/versions/{v}]      model metadata (inputs, outputs, provider)
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer
    GET  /metrics                              Prometheus text format
    GET  /v2/models/{name}/features            per-feature input statistics (JSON)
    GET  /v2/samples?after=SEQ[&limit=N]       sampled input rows after SEQ (serving/sampling.py)

Plain ASGI without a framework: the request path is short and this is the hot loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from mlopslab import __version__
from mlopslab.serving.batching import Batcher, Overloaded
from mlopslab.serving.config import ServerConfig
from mlopslab.serving.metrics import Metrics
from mlopslab.serving.model import Model
from mlopslab.serving.protocol import BadRequest, dumps, encode_infer, parse_infer
from mlopslab.serving.sampling import InputSampler, sampled_input

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = [(b"content-type", b"application/json")]


class ModelServer:
    """ASGI callable serving one model version."""

    def __init__(self, config: ServerConfig, model: Model | None = None) -> None:
        self.config = config
        self.model = model or Model(config.model_path, config.device, config.intra_op_threads)
        self.metrics = Metrics(config.name, config.version)
        self.batcher = Batcher(self._run, config.max_batch_size, config.max_wait_ms / 1000,
                               config.max_queue, self.metrics.batch, self._observe)
        sampled = sampled_input(self.model.inputs)
        self.sampler = InputSampler(sampled, config.sample_rate, config.sample_rows) if sampled else None
        self.ready = False
        prefix = f"/v2/models/{config.name}"
        self._model_paths = {prefix, f"{prefix}/versions/{config.version}"}

    def _run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        return self.model.run(feeds)

    def _observe(self, feeds: dict[str, Any]) -> None:
        """After a batch was answered: its inputs' statistics and the drift sample."""
        self.metrics.features.observe(feeds)
        if self.sampler is not None:
            self.sampler.observe(feeds)

    def metadata(self) -> dict[str, Any]:
        return {"name": self.config.name, "versions": [self.config.version], "platform": "onnxruntime",
                "provider": self.model.provider,
                "batching": {"max_batch_size": self.config.max_batch_size,
                             "max_wait_ms": self.config.max_wait_ms},
                "inputs": [t.describe() for t in self.model.inputs],
                "outputs": [t.describe() for t in self.model.outputs]}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, body, headers = await self._route(scope, receive)
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.model.warm_up()
                self.batcher.start()
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                await self.batcher.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        path, method = scope["path"].rstrip("/"), scope["method"]
        if path.endswith("/infer"):
            if path[:-6] not in self._model_paths:
                return _error(404, f"no model at {path[:-6]}; this server has '{self.config.name}'")
            if method != "POST":
                return _error(405, "infer takes POST")
            return await self._infer(scope, receive)
        if method != "GET":
            return _error(405, f"{path} takes GET")
        if path == "/v2/samples":
            return self._samples(scope.get("query_string", b""))
        return self._get(path)

    def _samples(self, query: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        args = dict(part.split(b"=", 1) for part in query.split(b"&") if b"=" in part)
        after, limit = _int(args.get(b"after", b"0")), _int(args.get(b"limit", b"10000"))
        if self.sampler is None:
            return 200, dumps({"input": None, "rows": [], "reason": "the model has no 2-D numeric input"}), JSON
        return 200, dumps(self.sampler.after(after, limit)), JSON

    def _get(self, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if path == "/v2/health/live":
            return 200, b'{"live":true}', JSON
        if path == "/v2/health/ready" or (path.endswith("/ready") and path[:-6] in self._model_paths):
            return (200 if self.ready else 503), dumps({"ready": self.ready}), JSON
        if path in self._model_paths:
            return 200, dumps(self.metadata()), JSON
        if path == "/v2":
            return 200, dumps({"name": "mlopslab", "version": __version__,
                               "extensions": ["binary_tensor_data"]}), JSON
        if path == "/metrics":
            return 200, self.metrics.render(), [(b"content-type", b"text/plain; version=0.0.4")]
        if path == f"/v2/models/{self.config.name}/features":
            return 200, dumps(self.metrics.features.snapshot()), JSON
        return _error(404, f"no route {path}")

    async def _infer(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        started = time.perf_counter()
        try:
            status, body, headers = await self._answer(scope, receive)
        except BadRequest as e:
            status, body, headers = _error(e.status, e.message)
        except Overloaded:
            self.metrics.rejected.inc()
            status, body, headers = _error(503, "the server is at capacity; retry later")
            headers = [*headers, (b"retry-after", str(self.config.retry_after_s).encode())]
        except Exception as e:  # noqa: BLE001 - the model failed on this input
            status, body, headers = _error(500, f"inference failed: {e}")
        self.metrics.answered(status, time.perf_counter() - started)
        return status, body, headers

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if not self.ready:
            return _error(503, "the model is not ready")
        head = dict(scope["headers"])
        body = await _read_body(receive, head, self.config.max_body_bytes)
        length = head.get(b"inference-header-content-length")
        request = parse_infer(body, _int(length) if length is not None else None,
                              self.model.inputs, self.model.outputs, self.config.max_rows)
        self.metrics.queue_depth.set(self.batcher.pending + 1)
        values = await self.batcher.submit(request.feeds, request.rows)
        out, header_length = encode_infer(self.config.name, self.config.version, request,
                                          self.model.outputs, values)
        headers = list(JSON)
        if header_length is not None:
            headers = [(b"content-type", b"application/octet-stream"),
                       (b"inference-header-content-length", str(header_length).encode())]
        return 200, out, headers


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None and _int(declared) > limit:
        raise BadRequest(f"the body has {int(declared)} bytes; at most {limit}", status=413)
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"the body is over {limit} bytes", status=413)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _int(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"not a number in a header: {raw[:32]!r}") from None


def _error(status: int, message: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return status, dumps({"error": message}), JSON
