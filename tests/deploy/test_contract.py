"""One contract, each backend (process; docker when an engine answers): what users rely on."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from mlopslab.core.deployments import Deployment, ReplicaStatus, WatchPolicy
from mlopslab.core.errors import DeployError
from mlopslab.core.events import DeploymentAutoRolledBack, GatewayRestarted, ReplicaRestarted, VersionFailed
from mlopslab.deploy.backend import Replica
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.process import running
from tests.deploy.load import Load
from tests.serving import onnx_models

RESULTS = Path(os.environ.get("MLOPSLAB_DEPLOY_RESULTS", "/tmp/mlopslab-deploy-results.jsonl"))


def expected(model: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]


def infer(endpoint: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    client = triton.InferenceServerClient(endpoint.removeprefix("http://"))
    given = triton.InferInput("x", list(x.shape), "FP32")
    given.set_data_from_numpy(x)
    result = client.infer("iris", [given], outputs=[triton.InferRequestedOutput("y")])
    return result.as_numpy("y"), result.get_response()["model_version"]


def test_deploy_serves_what_onnxruntime_computes(deployments: Deployments, backend: str,
                                                 models: dict[str, Path]) -> None:
    shown = deployments.deploy("iris", models["v1"], "iris", "1", backend=backend)
    assert shown.active_version == "1" and shown.endpoint.startswith("http://127.0.0.1:")
    x = onnx_models.rows(5)
    y, version = infer(shown.endpoint, x)
    np.testing.assert_array_equal(y, expected(models["v1"], x))
    assert version == "1"


def test_update_and_rollback_under_load_fail_no_request(deployments: Deployments, backend: str,
                                                         models: dict[str, Path]) -> None:
    shown = deployments.deploy("iris", models["v1"], "iris", "1", backend=backend)
    x = onnx_models.rows(3)
    with Load(f"{shown.endpoint}/v2/models/iris/infer", x) as load:
        shown = deployments.deploy("iris", models["v2"], "iris", "2", backend=backend)
        assert (shown.active_version, shown.previous_version) == ("2", "1")
        load.wait_for(50, "2")
        rolled = deployments.rollback("iris")
        after = time.monotonic()
        time.sleep(0.5)
        load.wait_for(50, "1")
    assert load.failures == [], load.summary()
    assert (rolled.active_version, rolled.previous_version) == ("1", "2")
    assert rolled.rollback_s < 1.0
    late = [v for t, v in load.versions if t > after + 0.2]  # requests sent well after the switch
    assert late and set(late) == {"1"}
    np.testing.assert_array_equal(infer(shown.endpoint, x)[0], expected(models["v1"], x))
    forward = deployments.deploy("iris", models["v2"], "iris", "2", backend=backend)  # v2 is still warm
    assert forward.active_version == "2"
    assert _handle(forward, "2") == _handle(shown, "2")  # switched back to, not restarted
    with RESULTS.open("a") as f:
        f.write(json.dumps({"backend": backend, "rollback_s": rolled.rollback_s,
                            "requests": len(load.versions), "failed": len(load.failures)}) + "\n")
    print(f"\n{backend}: rollback {rolled.rollback_s * 1000:.1f} ms, {len(load.versions)} requests, 0 failed")


def test_a_version_that_never_gets_ready_takes_no_traffic(deployments: Deployments, backend: str,
                                                          models: dict[str, Path]) -> None:
    shown = deployments.deploy("iris", models["v1"], "iris", "1", backend=backend)
    with Load(f"{shown.endpoint}/v2/models/iris/infer", onnx_models.rows(2)) as load:
        with pytest.raises(DeployError, match="never became ready"):
            deployments.deploy("iris", models["broken"], "iris", "2", backend=backend, ready_timeout_s=30)
        load.wait_for(20)
    assert load.failures == [] and {v for _, v in load.versions} == {"1"}
    shown = deployments.show("iris")
    assert shown.active_version == "1" and [r.version for r in shown.replicas] == ["1"]
    failed = [e for e in deployments.events if isinstance(e, VersionFailed)]  # type: ignore[attr-defined]
    assert [(e.deployment, e.version) for e in failed] == [("iris", "2")] and failed[0].reason


def test_a_first_version_that_never_gets_ready_leaves_nothing_behind(deployments: Deployments, backend: str,
                                                                    models: dict[str, Path]) -> None:
    with pytest.raises(DeployError, match="never became ready"):
        deployments.deploy("iris", models["broken"], "iris", "1", backend=backend, ready_timeout_s=30)
    assert deployments.names() == [] and not (deployments.root / "iris").exists()
    assert _processes_of(deployments.root / "iris") == []  # no gateway, no replica
    assert deployments.supervise() == []  # nothing left for a supervisor to restart
    shown = deployments.deploy("iris", models["v1"], "iris", "1", backend=backend)  # the name is free again
    assert shown.active_version == "1"


def test_a_version_failing_after_the_switch_is_rolled_back(deployments: Deployments, backend: str,
                                                           models: dict[str, Path]) -> None:
    policy = WatchPolicy(window_s=30, max_error_rate=0.05, min_requests=10)
    shown = deployments.deploy("iris", models["v1"], "iris", "1", backend=backend, policy=policy)
    with Load(f"{shown.endpoint}/v2/models/iris/infer", onnx_models.rows(2)) as load:
        deployments.deploy("iris", models["fails"], "iris", "2", backend=backend)  # ready: warm-up passes
        deadline = time.monotonic() + 20
        while deployments.show("iris").active_version != "1":
            assert time.monotonic() < deadline, "not rolled back"
            time.sleep(0.05)
        load.wait_for(20, "1")
    events = deployments.supervise()
    rollback = next(e for e in events if isinstance(e, DeploymentAutoRolledBack))
    assert (rollback.deployment, rollback.version, rollback.from_version) == ("iris", "1", "2")
    assert "error rate" in rollback.reason and rollback.actor is None
    assert load.failures == [], load.summary()  # the watch retried v2's errors on v1


def test_dead_parts_are_restarted_and_state_survives_a_new_supervisor(
        deployments: Deployments, backend: str, models: dict[str, Path]) -> None:
    deployments.deploy("iris", models["v1"], "iris", "1", backend=backend)
    shown = deployments.deploy("iris", models["v2"], "iris", "2", backend=backend)
    _kill(deployments.backends[backend], shown.replicas[1])
    os.kill(int(shown.gateway.pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running(int(shown.gateway.pid), "mlopslab.deploy.gateway"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again = Deployments(deployments.root, deployments.backends)  # as a restarted lab service
    kinds = {type(e) for e in again.supervise()}
    assert {GatewayRestarted, ReplicaRestarted} <= kinds
    shown = again.show("iris")
    assert shown.active_version == "2" and all(r.alive for r in shown.replicas)
    x = onnx_models.rows(2)
    y, version = infer(shown.endpoint, x)
    assert version == "2"
    np.testing.assert_array_equal(y, expected(models["v2"], x))
    again.undeploy("iris")
    assert again.names() == [] and _processes_of(deployments.root) == []  # HAProxy went with its gateway


def _processes_of(folder: Path) -> list[str]:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if str(folder) in line:
            found.append(line)
    return found


def _handle(shown: Deployment, version: str) -> str:
    return next(r.handle for r in shown.replicas if r.version == version)


def _kill(backend: object, replica: ReplicaStatus) -> None:
    if replica.backend == "process":
        os.kill(int(replica.handle), signal.SIGKILL)
    else:
        backend.client.containers.get(replica.handle).kill()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    running_one = Replica(replica.backend, replica.handle, replica.version, replica.url, replica.port)
    while backend.alive(running_one):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.05)
