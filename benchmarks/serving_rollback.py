"""Rollback under load: how long the switch takes, and whether any request fails.

    python benchmarks/serving_rollback.py [--backend process|docker] [--proxy haproxy|python|both]
        [--rollbacks 10] [--concurrency 8] [--quick] [--results FILE]

Deploys v1 then v2 of one model (blue/green, through mlopslab.deploy), starts a
closed-loop load generator on the stable endpoint, then rolls back and forth
`--rollbacks` times, 0.5 s apart; once per proxy (HAProxy where installed, and the
Python gateway). The rollback time is from the call to the gateway answering that
it switched; every request sent after that goes to the other version. The load
generator counts every non-200 and broken connection. --quick (3 rollbacks) checks
the harness, not the figures.
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
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402
from serving_load import Result, run  # noqa: E402
from serving_throughput import make_model, oip_body  # noqa: E402

from mlopslab.deploy import haproxy  # noqa: E402
from mlopslab.deploy.backend import Backend  # noqa: E402
from mlopslab.deploy.deployments import Deployments  # noqa: E402
from mlopslab.deploy.process import ProcessBackend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["process", "docker"], default="process")
    parser.add_argument("--proxy", choices=["haproxy", "python", "both"], default="both")
    parser.add_argument("--rollbacks", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="3 rollbacks: checks the harness")
    add_results_arg(parser)
    args = parser.parse_args()
    if args.quick:
        args.rollbacks = 3
    backends: dict[str, Backend] = {"process": ProcessBackend()}
    if args.backend == "docker":
        from mlopslab.deploy.docker import DockerBackend

        backends["docker"] = DockerBackend.default()
    proxies = ["haproxy", "python"] if args.proxy == "both" else [args.proxy]
    if "haproxy" in proxies and haproxy.binary() is None:
        print("no haproxy on PATH: HAProxy is left out", file=sys.stderr)
        proxies.remove("haproxy")
    for proxy in proxies:
        report = _one(backends, proxy, args)
        print(json.dumps(report, indent=1), flush=True)
        _record(args.results, report, args.quick)


def _one(backends: dict[str, Backend], proxy: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        v1, v2 = make_model(root / "v1.onnx"), make_model(root / "v2.onnx")
        deployments = Deployments(root / "deployments", backends, proxy=proxy)
        deployments.deploy("mlp", v1, "mlp", "1", backend=args.backend)
        shown = deployments.deploy("mlp", v2, "mlp", "2", backend=args.backend)
        try:
            times, load = _measure(deployments, shown.port, args)
        finally:
            deployments.undeploy("mlp")
    return {"backend": args.backend, "proxy": proxy, "rollbacks": len(times),
            "rollback_ms_median": round(statistics.median(times), 2), "rollback_ms_max": round(max(times), 2),
            "requests": load.ok, "failed": load.failed, "rps": round(load.rps), "p99_ms": round(load.pct(99), 2)}


def _measure(deployments: Deployments, port: int, args: argparse.Namespace) -> tuple[list[float], Result]:
    seconds = 2.0 + 0.5 * args.rollbacks + 1.0
    box: dict[str, Result] = {}
    loader = threading.Thread(target=lambda: box.setdefault(
        "r", run("127.0.0.1", port, "/v2/models/mlp/infer", oip_body(), args.concurrency, seconds)))
    loader.start()
    time.sleep(2.0)
    times = []
    for _ in range(args.rollbacks):
        times.append(deployments.rollback("mlp").rollback_s * 1000)
        time.sleep(0.5)
    loader.join()
    return times, box["r"]


def _record(path: Path | None, r: dict[str, Any], quick: bool) -> None:
    where = f"{r['backend']} backend, {'HAProxy' if r['proxy'] == 'haproxy' else 'Python gateway'}"
    note = ("--quick: harness check, not a measurement" if quick else
            f"{r['rollbacks']} rollbacks under {r['requests']} requests")
    for figure, value in (("median", r["rollback_ms_median"]), ("max", r["rollback_ms_max"])):
        record(path, benchmark="serving_rollback", figure=f"rollback {figure} under load ({where})", unit="ms",
               ours=value, lower_is_better=True, target="under 100 ms", met=value < 100, note=note)
    record(path, benchmark="serving_rollback", figure=f"failed requests during rollbacks ({where})",
           unit="requests", ours=r["failed"], lower_is_better=True, target="0", met=r["failed"] == 0, note=note)


if __name__ == "__main__":
    main()
