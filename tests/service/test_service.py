"""The lab service as a process: on-demand start, status, stop, spool, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.errors import MlopslabError, ServiceUnreachable
from mlopslab.core.events import MetricsLogged, RunCreated, event_to_json
from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json


def _run_event(run_id: str) -> RunCreated:
    return RunCreated(run={
        "id": run_id, "project": "p", "recipe": "r", "recipe_path": "/x", "status": "finished",
        "user_name": "u", "created_at": time.time(), "params": {}})


def _points(run_id: str, start: int, n: int) -> MetricsLogged:
    return MetricsLogged(run_id=run_id,
                         points=[["m", start + i, time.time(), float(start + i)] for i in range(n)])


def test_service_starts_on_demand_and_stops(lab: Lab) -> None:
    assert mlopslab(lab, "lab", "status", check=False).returncode == 1
    assert mlopslab_json(lab, "runs", "ls") == []  # any command starts it
    status = mlopslab_json(lab, "lab", "status")
    assert status["running"] and status["lab"] == str(lab.root)
    assert lab.socket_path.stat().st_mode & 0o077 == 0  # owner only
    assert "stopped" in mlopslab(lab, "lab", "stop").stdout
    assert mlopslab(lab, "lab", "status", check=False).returncode == 1


def test_service_survives_its_starter_and_only_one_runs(lab: Lab) -> None:
    pids = set()

    def start() -> None:
        with LabClient(lab) as client:
            pids.add(client.service.ping().pid)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pids) == 1
    assert os.getsid(pids.pop()) != os.getsid(0)  # detached: its own session


def test_writes_spool_while_the_service_is_down_and_arrive_later(lab: Lab) -> None:
    run_id = uuid.uuid4().hex
    with LabClient(lab) as client:
        client.write([_run_event(run_id)])
    daemon.stop(lab, stop_ray=False)
    offline = LabClient(lab, autostart=False)
    assert offline.write([_points(run_id, 0, 5)]) == "spooled"
    assert len(list(lab.spool.glob("*.json"))) == 1
    with LabClient(lab) as client:  # restarts the service, which ingests the spool
        series = client.runs.metrics(run_id=run_id)
    assert [p.step for p in series] == [0, 1, 2, 3, 4]
    assert list(lab.spool.glob("*.json")) == []


def test_batches_in_the_wire_format_of_an_older_mlopslab_land_in_the_store(lab: Lab) -> None:
    """A spool file and a `write` batch as mlopslab d097ee6 made them (before events were
    typed): the service ingests the one at start and decodes the other at its edge."""
    wire = Path(__file__).parents[1] / "core" / "wire"
    lab.spool.mkdir(parents=True, exist_ok=True)
    shutil.copy(wire / "spooled_step_output.json", lab.spool)
    progress = json.loads((wire / "spooled_run_progress.json").read_text())
    run_id = "250601-101500-ab12"
    with LabClient(lab) as client:  # starts the service, which ingests the spool
        client.write([RunCreated(run={**_run_event(run_id).run, "status": "running"})])
        assert client.service.write(batch_id=progress["batch_id"], events=progress["events"])
        run = client.runs.get(run_id)
        points = client.runs.metrics(run_id=run_id)
    assert (run.status, run.reason, run.code_version) == ("failed", "boom", "git:abc123")
    assert {s.name: s.status for s in run.steps or ()} == {"split": "cached", "train": "finished"}
    assert [a.sha256 for a in run.artifacts or ()] == ["ab" * 32]
    assert [(p.key, p.step, p.value) for p in points] == [("loss", 0, 0.75), ("loss", 1, None)]
    assert list(lab.spool.glob("*.json")) == []


def test_a_batch_with_an_unknown_event_kind_is_refused_whole(lab: Lab) -> None:
    with LabClient(lab) as client, pytest.raises(MlopslabError, match="unknown event kind 'telemetry'"):
        client.service.write(batch_id="b1", events=[event_to_json(_run_event("r1")), {"kind": "telemetry"}])
    with LabClient(lab) as client:
        assert client.runs.count() == 0


def test_acknowledged_writes_survive_a_killed_service(lab: Lab) -> None:
    run_id = uuid.uuid4().hex
    acked: list[int] = []
    with LabClient(lab) as client:
        client.write([_run_event(run_id)])
        pid = client.service.ping().pid
        stop = threading.Event()

        def writer() -> None:
            own = LabClient(lab, autostart=False)
            for batch in range(10_000):
                if stop.is_set():
                    return
                try:
                    own.service.write(batch_id=f"b{batch}",
                                      events=[event_to_json(_points(run_id, batch * 10, 10))])
                except ServiceUnreachable:
                    return
                acked.append(batch)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=30)
        stop.set()
    assert len(acked) > 10
    with LabClient(lab) as client:  # a new service opens the same store
        steps = {p.step for p in client.runs.metrics(run_id=run_id)}
    for batch in acked:
        assert set(range(batch * 10, batch * 10 + 10)) <= steps, f"acknowledged batch {batch} lost"


@pytest.mark.ray
def test_lab_started_cluster_is_local_and_token_protected(tmp_path) -> None:
    from mlopslab.lab import init_lab

    lab = init_lab(tmp_path / "own")
    try:
        status = mlopslab_json(lab, "lab", "start", "--ray")
        ray = status["ray"]
        assert ray["local"] and ray["address"].startswith("127.0.0.1:")
        token = os.stat(ray["token_path"])
        assert oct(token.st_mode)[-3:] == "600"
        probe = (
            "import ray,sys\n"
            f"try:\n ray.init(address='{ray['address']}')\n"
            "except Exception as e:\n print('refused'); sys.exit(0)\n"
            "print('connected'); sys.exit(1)\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        env["RAY_AUTH_MODE"] = "token"
        env["RAY_AUTH_TOKEN_PATH"] = str(tmp_path / "wrong_token")
        (tmp_path / "wrong_token").write_text("0" * 64)
        import subprocess
        import sys

        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                              text=True, timeout=120)
        assert "refused" in done.stdout, done.stdout + done.stderr
    finally:
        daemon.stop(lab, stop_ray=True)
    assert not (lab.state / "ray.json").exists()
