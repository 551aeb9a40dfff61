"""A deploy that fails leaves nothing behind, and no deployment command surfaces a raw
socket error: the real CLI and lab service, the process backend, real listening sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlopslab.client import daemon
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.gateway import control_socket
from mlopslab.deploy.process import ProcessBackend, running
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json
from tests.deploy.test_cli import _classifiers

SUPERVISION_S = 2.0  # service/deploy_ops.py: SUPERVISE_INTERVAL_S


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("deploy-failures")
    the_lab = init_lab(folder / "lab", "fail")
    data, files = _classifiers(folder)
    for f in files:
        mlopslab_json(the_lab, "models", "register", "--file", str(f), "--name", "clf", "--data", str(data),
                      "--target", "target")
    yield the_lab
    for name in ("web", "stale"):
        mlopslab(the_lab, "undeploy", name, check=False)
    daemon.stop(the_lab, stop_ray=False)


@pytest.fixture
def taken_port() -> Iterator[socket.socket]:
    """A port another program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_a_deploy_on_a_taken_port_fails_clearly_and_leaves_nothing(lab: Lab, taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    failed = mlopslab(lab, "deploy", "clf@1", "--name", "web", "--port", str(port), check=False)
    assert failed.returncode == 9, failed.stderr
    assert failed.stderr.startswith(f"error: port {port} ") and "\nhint: " in failed.stderr
    assert "Traceback" not in failed.stderr and "Errno" not in failed.stderr
    assert mlopslab_json(lab, "deployments", "ls") == []
    assert not (lab.root / "deployments" / "web").exists()

    time.sleep(2.5 * SUPERVISION_S)  # the service's supervision has looked twice: nothing to restart
    taken_port.close()
    time.sleep(2.5 * SUPERVISION_S)
    assert _bindable(port), "a gateway took the port once it was free"
    assert mlopslab_json(lab, "deployments", "ls") == []
    gone = mlopslab(lab, "undeploy", "web", check=False)
    assert gone.returncode == 7 and "no deployment 'web'" in gone.stderr and "Error(" not in gone.stderr

    again = mlopslab_json(lab, "deploy", "clf@1", "--name", "web", "--port", str(port))  # the name is free
    assert again["endpoint"] == f"http://127.0.0.1:{port}" and again["active_version"] == "1"
    mlopslab(lab, "undeploy", "web")


def test_a_port_out_of_range_is_refused_before_anything_runs(lab: Lab) -> None:
    refused = mlopslab(lab, "deploy", "clf@1", "--name", "web", "--port", "70000", check=False)
    assert refused.returncode == 2 and "70000" in refused.stderr and "Traceback" not in refused.stderr
    assert mlopslab_json(lab, "deployments", "ls") == []


def test_a_gateway_that_does_not_answer_gives_a_deploy_error_and_undeploy_still_works(lab: Lab) -> None:
    mlopslab_json(lab, "deploy", "clf@1", "--name", "stale")
    mlopslab_json(lab, "deploy", "clf@2", "--name", "stale")
    path = control_socket(lab.root / "deployments" / "stale")
    path.unlink()
    with socket.socket(socket.AF_UNIX) as dead:  # a socket file nobody listens on: connecting is refused
        dead.bind(str(path))

    listed = mlopslab(lab, "deployments", "ls", check=False)
    assert listed.returncode == 0, listed.stderr
    assert "stale" in listed.stdout and "ConnectionRefused" not in listed.stdout + listed.stderr
    rolled = mlopslab(lab, "rollback", "stale", check=False)
    assert rolled.returncode == 9 and rolled.stderr.startswith("error: ") and "\nhint: " in rolled.stderr
    assert "ConnectionRefused" not in rolled.stderr and "Traceback" not in rolled.stderr
    done = mlopslab(lab, "undeploy", "stale", check=False)
    assert done.returncode == 0, done.stderr
    assert mlopslab_json(lab, "deployments", "ls") == []



def test_ports_already_given_to_a_deployment_are_refused_with_what_to_do(lab: Lab) -> None:
    port = mlopslab_json(lab, "deploy", "clf@1", "--name", "web")["port"]
    other = mlopslab(lab, "deploy", "clf@2", "--name", "other", "--port", str(port), check=False)
    assert other.returncode == 9 and f"port {port} is the endpoint of deployment 'web'" in other.stderr
    assert "--name web" in other.stderr
    moved = mlopslab(lab, "deploy", "clf@2", "--name", "web", "--port", str(port + 1), check=False)
    assert moved.returncode == 9 and f"serves on port {port}, not {port + 1}" in moved.stderr
    assert [d["name"] for d in mlopslab_json(lab, "deployments", "ls")] == ["web"]
    assert mlopslab_json(lab, "deployments", "show", "web")["active_version"] == "1"
    mlopslab(lab, "undeploy", "web")


def test_a_first_deploy_whose_process_died_is_removed_by_the_supervisor(tmp_path: Path,
                                                                        models: dict[str, Path]) -> None:
    root = tmp_path / "deployments"
    script = ("import sys; from pathlib import Path; from mlopslab.deploy.deployments import Deployments; "
              "from mlopslab.deploy.process import ProcessBackend; "
              "Deployments(Path(sys.argv[1]), {'process': ProcessBackend()})"
              ".deploy('iris', Path(sys.argv[2]), 'iris', '1', ready_timeout_s=60)")
    deploying = subprocess.Popen([sys.executable, "-c", script, str(root), str(models["broken"])])
    state = root / "iris" / "deployment.json"
    deadline = time.monotonic() + 30
    while not (state.exists() and json.loads(state.read_text()).get("replicas")):
        assert time.monotonic() < deadline and deploying.poll() is None, "the deploy did not get going"
        time.sleep(0.05)
    made = json.loads(state.read_text())
    deploying.kill()  # the gateway and the replica run in sessions of their own: they outlive it
    deploying.wait()
    assert running(int(made["gateway_pid"]), "mlopslab.deploy.gateway")

    supervisor = Deployments(root, {"process": ProcessBackend()})
    assert supervisor.show("iris").status == "starting"
    assert supervisor.supervise() == []
    assert supervisor.names() == [] and not (root / "iris").exists()
    assert not running(int(made["gateway_pid"]), "mlopslab.deploy.gateway")
    assert all(not running(int(r["handle"]), "mlopslab.serving") for r in made["replicas"].values())


def test_a_leftover_that_never_served_is_removed_not_restarted(tmp_path: Path) -> None:
    """What a failed deploy of an older mlopslab left: a record with no replica and no route."""
    root = tmp_path / "deployments"
    (root / "web").mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "web" / "deployment.json").write_text(json.dumps({
        "name": "web", "backend": "process", "port": port, "model_name": "clf", "options": {}, "policy": {},
        "replicas": {}, "gateway_pid": None, "events_offset": 0, "created_at": 0, "updated_at": 0}))
    supervisor = Deployments(root, {"process": ProcessBackend()})
    assert supervisor.supervise() == []
    assert supervisor.names() == [] and _bindable(port)
