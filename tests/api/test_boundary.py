"""The service boundary on a real lab service: typed errors for unknown operations,
malformed requests and other protocol versions; every idempotent operation retried
after the service is SIGKILLed while answering; an idle service of an older
mlopslab replaced, a busy one left alone with a clear message."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlopslab.api import OPERATIONS, PROTOCOL_VERSION
from mlopslab.api.queue import QuotaLimits
from mlopslab.client import LabClient, daemon
from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.errors import BadRequest, ServiceOutdated, ServiceUnreachable, UnknownOperation
from mlopslab.core.monitor_events import AlertRaised
from mlopslab.core.run import ImportedRun
from mlopslab.lab import Lab
from mlopslab.processes import alive, wait_gone
from tests.conftest import configure, mlopslab
from tests.deploy.test_cli import _classifiers
from tests.tui.seed_models import NAME, make_models_lab

LEGACY = Path(__file__).with_name("legacy_service.py")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    """Seeded runs, model versions, gate reports and deployment rows; the shared Ray cluster."""
    made = make_models_lab(tmp_path_factory.mktemp("boundary") / "lab")
    the_lab = configure(made, ray={"address": ray_cluster.address, "num_gpus": 0})
    yield the_lab
    daemon.stop(the_lab, stop_ray=False)


def raw(lab: Lab, message: dict[str, Any]) -> dict[str, Any]:
    with LabClient(lab) as client:
        client.service.hello()  # started, and of this protocol
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(lab.socket_path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        reply: dict[str, Any] = json.loads(sock.makefile("rb").readline())
    return reply


def test_the_service_knows_exactly_the_tables_operations(lab: Lab) -> None:
    for name in OPERATIONS:
        reply = raw(lab, {"v": PROTOCOL_VERSION, "op": name, "args": {"no_such_field": 1}})
        assert reply["error"]["type"] == "BadRequest", name
        assert "no_such_field" in reply["error"]["message"]
    reply = raw(lab, {"v": PROTOCOL_VERSION, "op": "drop_everything", "args": {}})
    assert reply["error"]["type"] == "UnknownOperation"
    assert reply["v"] == PROTOCOL_VERSION


def test_a_malformed_request_is_a_typed_error_naming_the_field(lab: Lab) -> None:
    with LabClient(lab) as client:
        with pytest.raises(BadRequest, match=r"^bad request for get_run: run_id: field required$"):
            client.connection.call(OPERATIONS["get_run"], OPERATIONS["ping"].request())
        with pytest.raises(BadRequest, match=r"^bad request for get_run: filter: extra inputs are not "
                                             r"permitted; run_id: field required$"):
            client.connection.call(OPERATIONS["get_run"], OPERATIONS["count_runs"].request(filter="x"))
    reply = raw(lab, {"v": PROTOCOL_VERSION, "op": "list_runs", "args": {"limit": "many"}})
    assert reply["error"]["type"] == "BadRequest"
    assert reply["error"]["message"].startswith("bad request for list_runs: limit:")
    with LabClient(lab) as client, pytest.raises(UnknownOperation):
        client.connection.call(_stranger(), OPERATIONS["ping"].request())


def _stranger() -> Any:
    from mlopslab.api.operation import NoArgs, read

    return read("drop_everything", NoArgs, bool, "not in the table")


def test_a_client_of_another_protocol_is_told_so(lab: Lab) -> None:
    reply = raw(lab, {"op": "list_runs", "args": {}})  # protocol 1 sent no "v"
    assert reply["error"]["type"] == "ServiceOutdated"
    assert f"speaks protocol {PROTOCOL_VERSION}" in reply["error"]["message"]
    assert "protocol 1" in reply["error"]["message"]


@pytest.mark.parametrize("version", [None, 2])
def test_a_run_process_of_an_older_mlopslab_still_delivers_its_events(lab: Lab, version: int | None) -> None:
    """The `write` of protocols 1 and 2 (event dicts; metric points as rows) is still
    taken, so runs in flight across an upgrade lose nothing."""
    with LabClient(lab) as client:
        run_id = client.runs.list(limit=1)[0].id
    line = [time.time(), "stdout", f"from an older run process {version}"]
    message: dict[str, Any] = {"op": "write", "args": {"batch_id": f"old-batch-{version}", "events": [
        {"kind": "logs", "run_id": run_id, "lines": [line]},
        {"kind": "metrics", "run_id": run_id, "points": [[f"old_{version}", 3, time.time(), 0.25]]}]}}
    if version:
        message["v"] = version
    reply = raw(lab, message)
    assert reply["ok"] is True and reply["result"] is True
    with LabClient(lab) as client:
        assert client.runs.logs(run_id)[-1].line == f"from an older run process {version}"
        assert [(p.step, p.value) for p in client.runs.metrics(run_id, f"old_{version}")] == [(3, 0.25)]


def samples(client: LabClient, folder: Path) -> dict[str, Callable[[], Any]]:
    """One real call of every idempotent operation, on the seeded lab's own objects and
    a real deployment (process backend) of a real ONNX model."""
    run_id = client.runs.list(limit=1)[0].id
    latest = client.models.version(f"{NAME}@3").latest_report
    assert latest is not None
    data, files = _classifiers(folder)
    client.models.register_file(path=str(files[0]), name="clf", data=str(data), target="target")
    client.deployments.deploy(ref="clf@1", name="web", backend="process")
    alert = AlertRaised(id="al-retry", rule="test", subject="retry", severity="info",
                        message="for the retry test", ts=time.time())
    client.service.write(batch_id="alert-for-retry", events=[alert])
    return {
        "hello": client.service.hello, "ping": client.service.ping, "cluster": client.service.cluster,
        "write": lambda: client.service.write(batch_id="retry-test", events=[]),
        "list_runs": lambda: client.runs.list(limit=5), "count_runs": client.runs.count,
        "run_fields": client.runs.fields, "get_run": lambda: client.runs.get(run_id),
        "metrics": lambda: client.runs.metrics(run_id), "logs": lambda: client.runs.logs(run_id),
        "metric_curves": lambda: client.runs.curves([run_id], "loss"),
        "cancel_run": lambda: client.runs.cancel(run_id, actor="test"),
        "queue": client.queue.show, "quotas": client.queue.quotas, "gpus": client.queue.gpus,
        "quota_set": lambda: client.queue.set_quota("project", "retry", QuotaLimits(max_runs=4), actor="test"),
        "quota_clear": lambda: client.queue.clear_quota("project", "retry", actor="test"),
        "models": client.models.list, "model_versions": lambda: client.models.versions(NAME),
        "model_version": lambda: client.models.version(f"{NAME}@2"),
        "gate_report": lambda: client.models.gate_report(latest.id),
        "alias_history": lambda: client.models.alias_history(NAME),
        "lineage": lambda: client.models.lineage(f"{NAME}@2"),
        "evaluation_sets": lambda: client.models.evaluation_sets(NAME),
        "deployments": client.deployments.list, "deployment": lambda: client.deployments.get("web"),
        "gpu_history": lambda: client.monitor.gpu_history(since=time.time() - 3600),
        "gpu_use": lambda: client.monitor.gpu_use([run_id]),
        "cost": lambda: client.monitor.cost(by="run"), "budgets": client.monitor.budgets,
        "budget_set": lambda: client.monitor.set_budget("project", "retry", daily=5.0, actor="test"),
        "budget_clear": lambda: client.monitor.clear_budget("project", "retry", actor="test"),
        "alerts": lambda: client.monitor.alerts(all=True),
        "alert_ack": lambda: client.monitor.ack(alert.id, actor="test"),
        "serving_health": lambda: client.monitor.serving_health("web", since=time.time() - 300),
        "decisions": lambda: client.monitor.decisions("web"),
        "drift": lambda: client.drift.report("web"),
        "list_projects": client.runs.projects,
        "create_project": lambda: client.runs.create_project("retry"),
        "mlflow_registry": client.runs.mlflow_registry,
        "import_run": lambda: client.runs.import_run(ImportedRun(
            id="0123456789abcdef0123456789abcdef", project="imported", name="old", status="finished",
            source="sqlite:///x.db", created_at=time.time() - 60)),
        "stop": lambda: client.service.stop(stop_ray=False),
    }


def kill_while_answering(lab: Lab, client: LabClient, call: Callable[[], Any]) -> Any:
    """Freeze the service, send the request, SIGKILL the service: the reply is lost."""
    client.service.hello()  # connected to the running service
    pid = daemon.read_pid(lab)
    assert pid is not None and alive(pid)
    os.kill(pid, signal.SIGSTOP)
    stopped(pid)  # SIGSTOP takes effect thread by thread: a busy thread could still answer
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["result"] = call()
        except Exception as e:  # noqa: BLE001 - the test looks at it
            outcome["error"] = e

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)  # the request sits in the frozen service's socket
    os.kill(pid, signal.SIGKILL)
    sender.join(120)
    assert not sender.is_alive()
    wait_gone(pid, 10)  # a killed process with threads in I/O takes a moment to go
    assert daemon.read_pid(lab) != pid or not alive(pid), (pid, outcome)
    return outcome


def stopped(pid: int, timeout: float = 10) -> None:
    """Wait until every thread of `pid` is stopped (state T in /proc), then a little more."""
    deadline = time.monotonic() + timeout
    tasks = Path(f"/proc/{pid}/task")
    while time.monotonic() < deadline:
        states = []
        for task in tasks.iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except OSError:
                continue
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"the service {pid} did not stop within {timeout}s")


def test_every_idempotent_operation_is_retried_after_the_service_is_killed(lab: Lab, tmp_path: Path) -> None:
    idempotent = sorted(name for name, op in OPERATIONS.items() if op.idempotent)
    with LabClient(lab) as client:
        calls = samples(client, tmp_path)
        assert set(calls) == set(idempotent), "every idempotent operation needs a sample call here"
        for name in [n for n in idempotent if n != "stop"]:
            outcome = kill_while_answering(lab, client, calls[name])
            assert "error" not in outcome, f"{name} was not retried: {outcome.get('error')!r}"
        assert client.deployments.undeploy("web", actor="test").undeployed
        outcome = kill_while_answering(lab, client, calls["stop"])
        assert "error" not in outcome, f"stop was not retried: {outcome.get('error')!r}"


def test_an_operation_that_is_not_idempotent_is_not_repeated(lab: Lab) -> None:
    with LabClient(lab) as client:
        before = client.models.alias_history(NAME).history
        outcome = kill_while_answering(
            lab, client, lambda: client.models.set_alias(f"{NAME}@1", "staging", actor="test"))
        assert isinstance(outcome.get("error"), ServiceUnreachable)
        # the frozen service never applied it, and the client did not send it again
        assert client.models.alias_history(NAME).history == before


def start_legacy(lab: Lab, active_runs: int) -> subprocess.Popen[str]:
    daemon.stop(lab, stop_ray=False)
    proc = subprocess.Popen([sys.executable, str(LEGACY), str(lab.root), str(active_runs)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout is not None and "up" in proc.stdout.readline()
    return proc


def test_an_idle_service_of_an_older_mlopslab_is_replaced(lab: Lab) -> None:
    old = start_legacy(lab, active_runs=0)
    with LabClient(lab) as client:
        hello = client.service.hello()
    assert hello.protocol == PROTOCOL_VERSION and hello.pid != old.pid
    assert old.wait(10) == 0


def test_a_busy_service_of_an_older_mlopslab_is_left_running_with_a_hint(lab: Lab) -> None:
    old = start_legacy(lab, active_runs=2)
    try:
        with LabClient(lab) as client, pytest.raises(ServiceOutdated) as caught:
            client.runs.count()
        assert "runs mlopslab 0.9.0" in caught.value.message
        assert "2 run(s) are active" in (caught.value.hint or "")
        done = mlopslab(lab, "runs", "ls", check=False)
        assert done.returncode == 5
        assert len(done.stderr.strip().splitlines()) <= 2 and "Traceback" not in done.stderr
        assert "mlopslab lab stop" in done.stderr
        assert alive(old.pid)
    finally:
        old.terminate()
        wait_gone(old.pid, 10)
        old.wait(10)


def test_calls_go_on_while_a_stopped_service_goes_and_a_fresh_one_starts(lab: Lab) -> None:
    with LabClient(lab) as client:
        first = client.service.hello().pid
        assert client.service.stop(stop_ray=False)
        deadline = time.monotonic() + 60
        while client.service.hello().pid == first:  # it answers until it has gone
            assert time.monotonic() < deadline, "the stopped service did not go"
            with LabClient(lab) as another:  # a new connection: its hello may meet the end
                assert another.runs.count() > 0


def test_metric_columns_that_do_not_fit_are_refused_and_nothing_of_the_batch_is_applied(lab: Lab) -> None:
    with LabClient(lab) as client:
        run_id = client.runs.list(limit=1)[0].id
    bad = {"n": 2, "keys": ["cols"], "key": "AAAAAAAAAAAAAAAA", "step": "AAAAAAAAAAAAAAAAAAAAAA==",
           "ts": "AAAAAAAAAAAAAAAAAAAAAA==", "value": "AAAAAAAAAAAAAAAAAAAAAA=="}  # key: 3 numbers, the others 2
    reply = raw(lab, {"v": PROTOCOL_VERSION, "op": "write", "args": {"batch_id": "bad-columns", "events": [
        {"kind": "logs", "run_id": run_id, "lines": [[time.time(), "stdout", "never stored"]]},
        {"kind": "metrics", "run_id": run_id, "points": bad}]}})
    assert reply["ok"] is False and reply["error"]["type"] == "EventError"
    assert "not all 2 long" in reply["error"]["message"]
    with LabClient(lab) as client:
        assert client.runs.metrics(run_id, "cols") == []
        assert all(line.line != "never stored" for line in client.runs.logs(run_id))
        assert client.service.ping().pid > 0
