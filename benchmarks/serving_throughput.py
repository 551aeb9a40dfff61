"""Serving throughput side by side on one model: mlopslab's server (batching on and
off, direct and through the deployment gateway), a plain FastAPI + ONNX Runtime
server, and `mlflow models serve` when an MLflow is at hand.

    python benchmarks/serving_throughput.py [--seconds 3] [--levels 1,2,4,8,16,32,64]
        [--mlflow-python /path/to/venv/bin/python]

Every server gets CPU 0 (`sched_setaffinity`), the load generator CPU 1: one server
core, one load core. Closed loop: at each concurrency level every connection sends
its next request when the last is answered; the table gives the highest throughput
whose p99 latency stays under 20 ms (and the concurrency that got it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from serving_load import Result, run  # noqa: E402

from mlopslab.deploy.backend import free_port  # noqa: E402

P99_BUDGET_MS = 20.0
FEATURES = 64


def make_model(path: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    dims = [FEATURES, 256, 256, 8]
    nodes, inits, last = [], [], "x"
    for i in range(3):
        inits += [numpy_helper.from_array((rng.normal(size=dims[i:i + 2]) / 16).astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(np.zeros(dims[i + 1], np.float32), f"b{i}")]
        nodes += [helper.make_node("MatMul", [last, f"W{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        last = f"a{i}"
        if i < 2:
            nodes.append(helper.make_node("Relu", [last], [f"r{i}"]))
            last = f"r{i}"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def oip_body() -> bytes:
    x = np.random.default_rng(1).normal(size=(1, FEATURES)).round(4)
    return json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()


def pin(pid: int, cpu: int) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, {cpu})


def wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2):
                return
        time.sleep(0.2)
    raise TimeoutError(url)


@contextlib.contextmanager
def process(args: list[str], ready: str, path: str | None = None) -> Iterator[None]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    if path:  # mlflow starts `uvicorn` from PATH
        env["PATH"] = f"{path}:{env['PATH']}"
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    try:
        wait(ready)
        for child in _children(p.pid):
            pin(child, 0)
        yield
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def _children(pid: int) -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


@contextlib.contextmanager
def mlopslab_server(model: Path, batching: bool) -> Iterator[tuple[int, str]]:
    port = free_port()
    batch = ["--max-batch-size", "32", "--max-wait-ms", "1"] if batching else ["--max-batch-size", "1"]
    args = [sys.executable, "-m", "mlopslab.serving", "--model", str(model), "--name", "mlp", "--port", str(port),
            "--max-queue", "4096", *batch]
    with process(args, f"http://127.0.0.1:{port}/v2/health/ready"):
        yield port, "/v2/models/mlp/infer"


@contextlib.contextmanager
def gateway(model: Path) -> Iterator[tuple[int, str]]:
    from mlopslab.core.deployments import ServingOptions
    from mlopslab.deploy.deployments import Deployments
    from mlopslab.deploy.process import ProcessBackend

    with tempfile.TemporaryDirectory() as tmp:
        deployments = Deployments(Path(tmp), {"process": ProcessBackend()})
        shown = deployments.deploy("mlp", model, "mlp", "1", options=ServingOptions(max_queue=4096))
        try:
            pin(int(shown["gateway"]["pid"]), 0)
            pin(int(shown["replicas"][0]["handle"]), 0)
            yield shown["port"], "/v2/models/mlp/infer"
        finally:
            deployments.undeploy("mlp")


@contextlib.contextmanager
def fastapi_server(model: Path) -> Iterator[tuple[int, str]]:
    port = free_port()
    peer = Path(__file__).with_name("serving_fastapi_peer.py")
    with process([sys.executable, str(peer), str(model), str(port)], f"http://127.0.0.1:{port}/v2/health/ready"):
        yield port, "/v2/models/mlp/infer"


@contextlib.contextmanager
def mlflow_server(model: Path, python: str) -> Iterator[tuple[int, str]]:
    folder = Path(tempfile.mkdtemp()) / "mlflow-model"
    save = ("import onnx, mlflow.onnx, sys; mlflow.onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2])")
    subprocess.run([python, "-c", save, str(model), str(folder)], check=True, capture_output=True,
                   env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    port = free_port()
    mlflow = str(Path(python).with_name("mlflow"))
    args = [mlflow, "models", "serve", "-m", str(folder), "-p", str(port), "-h", "127.0.0.1",
            "--env-manager", "local", "-w", "1"]
    with process(args, f"http://127.0.0.1:{port}/ping", path=str(Path(python).parent)):
        yield port, "/invocations"


def sweep(port: int, path: str, body: bytes, levels: list[int], seconds: float) -> list[Result]:
    run("127.0.0.1", port, path, body, 4, 1.0)  # warm up
    return [run("127.0.0.1", port, path, body, c, seconds) for c in levels]


def best(results: list[Result]) -> dict[str, Any]:
    within = [r for r in results if r.pct(99) < P99_BUDGET_MS and r.failed == 0 and r.ok]
    top = max(within, key=lambda r: r.rps) if within else None
    peak = max(results, key=lambda r: r.rps)
    return {"rps_p99_under_20ms": round(top.rps) if top else 0, "concurrency": top.concurrency if top else None,
            "p50_ms": round(top.pct(50), 2) if top else None, "p99_ms": round(top.pct(99), 2) if top else None,
            "peak_rps": round(peak.rps), "failed": sum(r.failed for r in results),
            "levels": [{"c": r.concurrency, "rps": round(r.rps), "p50_ms": round(r.pct(50), 2),
                        "p99_ms": round(r.pct(99), 2), "failed": r.failed} for r in results]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64")
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"),
                        help="a Python whose environment has mlflow (e.g. a separate venv)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    levels = [int(c) for c in args.levels.split(",")]
    pin(0, 1)
    model = make_model(Path(tempfile.mkdtemp()) / "mlp.onnx")
    body = oip_body()
    mlflow_body = json.dumps({"inputs": [json.loads(body)["inputs"][0]["data"]]}).encode()
    servers: list[tuple[str, Any, bytes]] = [
        ("mlopslab, batching on", lambda: mlopslab_server(model, True), body),
        ("mlopslab, batching off", lambda: mlopslab_server(model, False), body),
        ("mlopslab via the deployment gateway (batching on)", lambda: gateway(model), body),
        ("FastAPI + ONNX Runtime", lambda: fastapi_server(model), body),
    ]
    if args.mlflow_python:
        servers.append(("mlflow models serve", lambda: mlflow_server(model, args.mlflow_python), mlflow_body))
    report: dict[str, Any] = {}
    for name, start, payload in servers:
        with start() as (port, path):
            report[name] = best(sweep(port, path, payload, levels, args.seconds))
        r = report[name]
        print(f"{name:52s} {r['rps_p99_under_20ms']:>6} req/s at p99<20ms (c={r['concurrency']}, "
              f"p99 {r['p99_ms']} ms); peak {r['peak_rps']}; failed {r['failed']}", flush=True)
    base = report["FastAPI + ONNX Runtime"]["rps_p99_under_20ms"] or 1
    for r in report.values():
        r["vs_fastapi"] = round(r["rps_p99_under_20ms"] / base, 2)
    print(json.dumps({k: {kk: v for kk, v in r.items() if kk != "levels"} for k, r in report.items()}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
