"""Rollback under load: how long the switch takes, and whether any request fails.

    python benchmarks/serving_rollback.py [--backend process|docker] [--rollbacks 10] [--concurrency 8]

Deploys v1 then v2 of one model (blue/green, through mlopslab.deploy), starts a
closed-loop load generator on the stable endpoint, then rolls back and forth
`--rollbacks` times, 0.5 s apart. The rollback time is from the call to the
gateway answering that it switched; every request sent after that goes to the
other version. The load generator counts every non-200 and broken connection.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from serving_load import Result, run  # noqa: E402
from serving_throughput import make_model, oip_body  # noqa: E402

from mlopslab.deploy.backend import Backend  # noqa: E402
from mlopslab.deploy.deployments import Deployments  # noqa: E402
from mlopslab.deploy.process import ProcessBackend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["process", "docker"], default="process")
    parser.add_argument("--rollbacks", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    backends: dict[str, Backend] = {"process": ProcessBackend()}
    if args.backend == "docker":
        from mlopslab.deploy.docker import DockerBackend

        backends["docker"] = DockerBackend.default()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        v1, v2 = make_model(root / "v1.onnx"), make_model(root / "v2.onnx")
        deployments = Deployments(root / "deployments", backends)
        deployments.deploy("mlp", v1, "mlp", "1", backend=args.backend)
        shown = deployments.deploy("mlp", v2, "mlp", "2", backend=args.backend)
        try:
            times, load = _measure(deployments, shown["port"], args)
        finally:
            deployments.undeploy("mlp")
    report = {"backend": args.backend, "rollbacks": len(times),
              "rollback_ms_median": round(statistics.median(times), 2), "rollback_ms_max": round(max(times), 2),
              "requests": load.ok, "failed": load.failed,
              "rps": round(load.rps), "p99_ms": round(load.pct(99), 2)}
    print(json.dumps(report, indent=1))


def _measure(deployments: Deployments, port: int, args: argparse.Namespace) -> tuple[list[float], Result]:
    seconds = 2.0 + 0.5 * args.rollbacks + 1.0
    box: dict[str, Result] = {}
    loader = threading.Thread(target=lambda: box.setdefault(
        "r", run("127.0.0.1", port, "/v2/models/mlp/infer", oip_body(), args.concurrency, seconds)))
    loader.start()
    time.sleep(2.0)
    times = []
    for _ in range(args.rollbacks):
        times.append(deployments.rollback("mlp")["rollback_s"] * 1000)
        time.sleep(0.5)
    loader.join()
    return times, box["r"]


if __name__ == "__main__":
    main()
