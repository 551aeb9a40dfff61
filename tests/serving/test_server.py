"""The model server over real HTTP: protocol, outputs, errors, batching, load shedding, metrics."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from tests.serving import onnx_models
from tests.serving.servers import Served, serve


def direct(model: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return onnx_models.mlp(tmp_path_factory.mktemp("models") / "mlp.onnx")


@pytest.fixture(scope="module")
def server(mlp: Path) -> Served:
    with serve(mlp, "iris", version="3", max_batch_size=16, max_wait_ms=5, max_body_bytes=200_000,
               max_rows=1000) as served:
        yield served


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_triton_client_gets_the_outputs_of_onnxruntime(server: Served, mlp: Path, binary: bool) -> None:
    client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("iris")
    meta = client.get_model_metadata("iris")
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["provider"] == "CPUExecutionProvider"  # no GPU here: says which provider runs
    x = onnx_models.rows(7, seed=3)
    given = triton.InferInput("x", list(x.shape), "FP32")
    given.set_data_from_numpy(x, binary_data=binary)
    result = client.infer("iris", [given], outputs=[triton.InferRequestedOutput("y", binary_data=binary)])
    np.testing.assert_array_equal(result.as_numpy("y"), direct(mlp, x))
    assert result.get_response()["model_version"] == "3"


def test_plain_json_and_versioned_path(server: Served, mlp: Path) -> None:
    x = onnx_models.rows(2)
    body = {"id": "r1", "inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": x.tolist()}]}
    reply = httpx.post(f"{server.url}/v2/models/iris/versions/3/infer", json=body)
    assert reply.status_code == 200, reply.text
    out = reply.json()
    assert out["id"] == "r1" and out["outputs"][0]["shape"] == [2, 3]
    np.testing.assert_allclose(np.array(out["outputs"][0]["data"]).reshape(2, 3), direct(mlp, x), rtol=1e-6)


BAD = [
    (b"{not json", 400, "not valid JSON"),
    (b'{"inputs": 3}', 400, "'inputs' list"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}),
     400, "does not fit the model's [-1, 4]"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}),
     400, "needs 4 values, got 3"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]}),
     400, "the model takes FP32"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ["a", 1, 2, 3]}]}),
     400, "data is not FP32"),
    (json.dumps({"inputs": [{"name": "z", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}),
     400, "unknown input 'z'"),
    (json.dumps({"inputs": []}), 400, "missing input x"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1001, 4], "datatype": "FP32",
                             "data": [0.0] * 4004}]}), 413, "1001 rows"),
    (b"[" + b"1," * 150_000 + b"1]", 413, "at most 200000"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_requests_get_4xx_with_a_message(server: Served, body: bytes | str, status: int, message: str) -> None:
    reply = httpx.post(f"{server.url}/v2/models/iris/infer", content=body)
    assert reply.status_code == status
    assert message in reply.json()["error"]


def test_unknown_model_and_method(server: Served) -> None:
    assert httpx.post(f"{server.url}/v2/models/other/infer", content=b"{}").status_code == 404
    assert httpx.get(f"{server.url}/v2/models/iris/infer").status_code == 405


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(server: Served, mlp: Path) -> None:
    xs = [onnx_models.rows(1 + i % 3, seed=i) for i in range(64)]

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url) as client:
            return await asyncio.gather(*[client.post("/v2/models/iris/infer", json={"inputs": [
                {"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]})
                for x in xs])

    replies = asyncio.run(go())
    for x, reply in zip(xs, replies, strict=True):
        got = np.array(reply.json()["outputs"][0]["data"], np.float32).reshape(-1, 3)
        np.testing.assert_allclose(got, direct(mlp, x), rtol=1e-5)
    # the inputs' statistics are kept after the answers went out (off their critical path)
    deadline = time.monotonic() + 5
    while (features := httpx.get(f"{server.url}/v2/models/iris/features").json()).get(
            "x", {}).get("count", 0) < 128 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert features["x"]["count"] >= 128 and 1 <= features["x"]["mean"][0] <= 3
    metrics = httpx.get(f"{server.url}/metrics").text
    assert _sample(metrics, "mlopslab_batch_rows_count") < _sample(metrics, "mlopslab_batch_rows_sum")
    assert 'mlopslab_requests_total{code="200",model="iris",version="3"}' in metrics
    assert 'mlopslab_feature_mean{feature="0",input="x"}' in metrics


def _sample(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{"))


def test_overload_sheds_503_with_retry_after_and_recovers(tmp_path: Path) -> None:
    model = onnx_models.slow(tmp_path / "slow.onnx", size=1024)
    with serve(model, "slow", max_batch_size=1, max_queue=4, retry_after_s=2) as served:
        async def flood() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=64)
            async with httpx.AsyncClient(base_url=served.url, limits=limits, timeout=60) as client:
                return await asyncio.gather(*[client.post("/v2/models/slow/infer", json=_body(1))
                                              for _ in range(40)])

        codes = [r.status_code for r in asyncio.run(flood())]
        shed = [c for c in codes if c == 503]
        assert shed and codes.count(200) >= 4 and set(codes) == {200, 503}
        late = httpx.post(f"{served.url}/v2/models/slow/infer", json=_body(1), timeout=30)
        assert late.status_code == 200  # recovered once the burst is over
        flooded = asyncio.run(_one_shed(served.url))
        assert flooded.headers["retry-after"] == "2" and "capacity" in flooded.json()["error"]
        assert _sample(httpx.get(f"{served.url}/metrics").text, "mlopslab_rejected_total") >= len(shed)


async def _one_shed(url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=64), timeout=60) as c:
        replies = await asyncio.gather(*[c.post("/v2/models/slow/infer", json=_body(1)) for _ in range(20)])
    return next(r for r in replies if r.status_code == 503)


def _body(n: int) -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": [n, 4], "datatype": "FP32", "data": [0.5] * (4 * n)}]}


def test_sigterm_drains_in_flight_requests(tmp_path: Path) -> None:
    model = onnx_models.slow(tmp_path / "slow.onnx", size=1024)
    with serve(model, "slow", max_batch_size=1) as served:
        async def during_shutdown() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
                calls = [asyncio.create_task(client.post("/v2/models/slow/infer", json=_body(1)))
                         for _ in range(6)]
                await asyncio.sleep(0.05)
                served.process.send_signal(signal.SIGTERM)
                return await asyncio.gather(*calls)

        codes = [r.status_code for r in asyncio.run(during_shutdown())]
        assert codes == [200] * 6
        assert served.process.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after draining


def test_a_model_that_cannot_load_exits_non_zero(tmp_path: Path) -> None:
    bad = onnx_models.broken(tmp_path / "bad.onnx")
    done = subprocess.run([sys.executable, "-m", "mlopslab.serving", "--model", str(bad), "--name", "b"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "cannot load" in done.stderr


def test_serving_imports_no_lab_infrastructure() -> None:
    code = ("import sys, mlopslab.serving.app, mlopslab.serving.__main__; "
            "bad = [m for m in ('duckdb', 'ray', 'textual', 'docker', 'pyarrow') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
