"""Serving throughput side by side on one model: mlopslab's server (batching on and
off, direct, and through a deployment's stable endpoint with HAProxy and with the
Python gateway), a plain FastAPI + ONNX Runtime server, and `mlflow models serve`
when an MLflow is at hand.

    python benchmarks/serving_throughput.py [--seconds 3] [--levels 1,2,4,8,16,32,64]
        [--mlflow-python /path/to/venv/bin/python] [--quick] [--results FILE]

Every server gets CPU 0 (`sched_setaffinity`), the load generator CPU 1: one server
core, one load core. A deployment's endpoint puts everything it runs on CPU 0 too
(HAProxy, the gateway process, the replica), so the proxy is paid for out of the
server's core. Closed loop: at each concurrency level every connection sends its
next request when the last is answered; the table gives the highest throughput
whose p99 latency stays under 20 ms (and the concurrency that got it). --quick
(half a second at two levels per server) checks the harness, not the figures.
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

from results import add_results_arg, record  # noqa: E402
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


def pin_all(pid: int, cpu: int) -> None:
    """Every thread of PID (one started before it was pinned keeps its own affinity) and its children."""
    import psutil

    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        for proc in [process, *process.children(recursive=True)]:
            for thread in proc.threads():
                pin(thread.id, cpu)


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
def endpoint(model: Path, proxy: str) -> Iterator[tuple[int, str]]:
    """A deployment of one version through PROXY ("haproxy" or "python"), all of it on CPU 0."""
    from mlopslab.core.deployments import ServingOptions
    from mlopslab.deploy import haproxy
    from mlopslab.deploy.deployments import Deployments
    from mlopslab.deploy.process import ProcessBackend

    with tempfile.TemporaryDirectory() as tmp:
        deployments = Deployments(Path(tmp), {"process": ProcessBackend()}, proxy=proxy)
        shown = deployments.deploy("mlp", model, "mlp", "1", options=ServingOptions(max_queue=4096, max_wait_ms=1.0))
        try:
            pids = [int(shown.gateway.pid or 0), int(shown.replicas[0].handle)]
            if proxy == "haproxy":
                pids.append(int((Path(tmp) / "mlp" / haproxy.PIDFILE).read_text()))
            for pid in pids:
                pin_all(pid, 0)
            yield shown.port, "/v2/models/mlp/infer"
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
    run("127.0.0.1", port, path, body, 4, min(1.0, seconds))  # warm up
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


BARE, FASTAPI = "mlopslab, batching on", "FastAPI + ONNX Runtime"
HAPROXY = "mlopslab endpoint through HAProxy (batching on)"
PYTHON_GATEWAY = "mlopslab endpoint through the Python gateway (batching on)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64")
    parser.add_argument("--quick", action="store_true", help="0.5 s at concurrency 8 and 32: checks the harness")
    parser.add_argument("--mlflow-python", default=os.environ.get("MLFLOW_PYTHON"),
                        help="a Python whose environment has mlflow (e.g. a separate venv)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    add_results_arg(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.levels = 0.5, "8,32"
    levels = [int(c) for c in args.levels.split(",")]
    pin(0, 1)
    model = make_model(Path(tempfile.mkdtemp()) / "mlp.onnx")
    body = oip_body()
    mlflow_body = json.dumps({"inputs": [json.loads(body)["inputs"][0]["data"]]}).encode()
    servers: list[tuple[str, Any, bytes]] = [
        (BARE, lambda: mlopslab_server(model, True), body),
        ("mlopslab, batching off", lambda: mlopslab_server(model, False), body),
        (FASTAPI, lambda: fastapi_server(model), body),
        (PYTHON_GATEWAY, lambda: endpoint(model, "python"), body),
    ]
    from mlopslab.deploy import haproxy

    if haproxy.binary():
        servers.insert(1, (HAPROXY, lambda: endpoint(model, "haproxy"), body))
    else:
        print("no haproxy on PATH: the endpoint through HAProxy is left out", file=sys.stderr)
    if args.mlflow_python:
        servers.append(("mlflow models serve", lambda: mlflow_server(model, args.mlflow_python), mlflow_body))
    report: dict[str, Any] = {}
    for name, start, payload in servers:
        with start() as (port, path):
            report[name] = best(sweep(port, path, payload, levels, args.seconds))
        r = report[name]
        print(f"{name:58s} {r['rps_p99_under_20ms']:>6} req/s at p99<20ms (c={r['concurrency']}, "
              f"p99 {r['p99_ms']} ms); peak {r['peak_rps']}; failed {r['failed']}", flush=True)
    base = report[FASTAPI]["rps_p99_under_20ms"] or 1
    bare = report[BARE]["rps_p99_under_20ms"] or 1
    for r in report.values():
        r["vs_fastapi"] = round(r["rps_p99_under_20ms"] / base, 2)
        r["vs_bare_server"] = round(r["rps_p99_under_20ms"] / bare, 2)
    print(json.dumps({k: {kk: v for kk, v in r.items() if kk != "levels"} for k, r in report.items()}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    _record(args.results, report, args.quick)


def _record(path: Path | None, report: dict[str, Any], quick: bool) -> None:
    """One figure per server (req/s at p99 < 20 ms against FastAPI) and the endpoints' share of the bare server."""
    note = "--quick: harness check, not a measurement" if quick else "server pinned to CPU 0, load to CPU 1"
    peer = report[FASTAPI]["rps_p99_under_20ms"]
    for name, r in report.items():
        if name == FASTAPI:
            continue
        endpoint = name in (HAPROXY, PYTHON_GATEWAY)
        target = "at least 2x FastAPI" if endpoint or name == BARE else ""
        record(path, benchmark="serving_throughput", figure=f"{name}: req/s at p99 < 20 ms", unit="req/s",
               ours=r["rps_p99_under_20ms"], lower_is_better=False, peer=FASTAPI, peer_value=peer,
               target=target, met=(r["vs_fastapi"] >= 2.0) if target else None, note=note)
        if endpoint:
            record(path, benchmark="serving_throughput", figure=f"{name}: share of the bare server's req/s",
                   unit="ratio", ours=r["vs_bare_server"], lower_is_better=False, target="at least 0.8",
                   met=r["vs_bare_server"] >= 0.8, note=note)


if __name__ == "__main__":
    main()
