"""The MLflow mirror for real: a lab with [mlflow] mirror_uri logs its runs and registry
into a fresh MLflow sqlite store, read back with MlflowClient; a mirror that is down
delays no run, and gets everything once it is back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import configure, mlopslab, mlopslab_json
from tests.exec.test_tracking import data, python, script

TRAIN = """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import mlopslab

    with mlopslab.start_run(name="mirrored", params={"C": 0.5}, tags={"team": "ml"}) as run:
        run.log_input("train.csv")
        table = np.loadtxt("train.csv", delimiter=",", skiprows=1)
        x, y = table[:, :4], table[:, 4].astype(int)
        model = LogisticRegression(C=0.5).fit(x, y)
        for step in range(300):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        open("notes.txt", "w").write("mirrored notes")
        run.log_artifact("notes.txt", "reports/notes.txt")
        run.log_model(model, sample_input=x[:1], register_as="clf-mirror", holdout="holdout.csv", target="target")
    print(run.id)
"""


def until(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return found


def mirror_of(lab: Lab) -> dict[str, Any]:
    found: dict[str, Any] = mlopslab_json(lab, "lab", "status")["mirror"]
    return found


def test_the_mirror_holds_what_the_lab_logged_and_the_champion_alias(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'mirror.db'}"
    subprocess.run([sys.executable, "-c", f"import mlflow; mlflow.MlflowClient('{target}').search_experiments()"],
                   check=True, capture_output=True, timeout=120)  # a fresh MLflow store
    lab = configure(init_lab(tmp_path / "lab", "mirror"), mlflow={"mirror_uri": target, "mirror_interval_s": 0.5})
    try:
        data(tmp_path)
        run_id = python(lab, script(tmp_path, TRAIN)).stdout.split()[-1]
        mlopslab(lab, "promote", "clf-mirror@1")
        until(lambda: (m := mirror_of(lab))["runs"] == 1 and m["behind"] == 0)
        client = MlflowClient(tracking_uri=target, registry_uri=target)
        until(lambda: client.search_model_versions("name = 'clf-mirror'")
              and client.get_registered_model("clf-mirror").aliases.get("champion"))

        exp = client.get_experiment_by_name("default")
        [mirrored] = client.search_runs([exp.experiment_id], f"tags.`mlopslab.run_id` = '{run_id}'")
        assert mirrored.info.status == "FINISHED" and mirrored.info.run_name == "mirrored"
        assert mirrored.data.params == {"C": "0.5"} and mirrored.data.tags["team"] == "ml"
        shown = mlopslab_json(lab, "runs", "show", run_id)
        assert mirrored.info.end_time == int(round(_epoch(shown["ended_at"]) * 1000))
        history = client.get_metric_history(mirrored.info.run_id, "loss")
        assert [m.step for m in history] == list(range(300))
        assert history[-1].value == pytest.approx(1 / 300)
        files = [f.path for f in client.list_artifacts(mirrored.info.run_id, "reports")]
        assert files == ["reports/notes.txt"]
        local = client.download_artifacts(mirrored.info.run_id, "reports/notes.txt", str(tmp_path))
        assert Path(local).read_text() == "mirrored notes"
        champion = client.get_model_version_by_alias("clf-mirror", "champion")
        assert champion.run_id == mirrored.info.run_id and champion.tags["mlopslab.version"] == "1"
    finally:
        daemon.stop(lab, stop_ray=False)


def test_a_mirror_that_is_down_delays_no_run_and_catches_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = init_lab(tmp_path / "other", "other")  # the mirror: another lab's MLflow API
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in (("MLFLOW_TRACKING_TOKEN", other.token("mlflow")), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"),
                        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")):
        monkeypatch.setenv(name, value)  # the lab service is started with them
    lab = configure(init_lab(tmp_path / "lab", "mirror"),
                    mlflow={"mirror_uri": f"http://127.0.0.1:{port}", "mirror_interval_s": 0.5})
    server = None
    try:
        data(tmp_path)
        started = time.monotonic()
        run_id = python(lab, script(tmp_path, TRAIN)).stdout.split()[-1]
        assert time.monotonic() - started < 30  # the run did not wait for the mirror
        assert mlopslab_json(lab, "runs", "show", run_id)["status"] == "finished"
        down = until(lambda: (m := mirror_of(lab))["last_error"] and m)
        assert down["behind"] == 1 and "127.0.0.1" in down["uri"]
        assert "mlflow mirror" in mlopslab(lab, "lab", "status").stdout

        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_TOKEN"}
        server = subprocess.Popen([sys.executable, "-m", "mlopslab", "--lab", str(other.root), "mlflow-server",
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        back = until(lambda: (m := mirror_of(lab))["behind"] == 0 and not m["last_error"] and m, timeout=90)
        assert back["runs"] == 1
        runs = mlopslab_json(other, "runs", "ls")
        assert [r["recipe"] for r in runs] == ["mirrored"] and runs[0]["metrics"]["loss"] == pytest.approx(1 / 300)
        assert mlopslab_json(other, "runs", "show", runs[0]["id"])["tags"]["mlopslab.run_id"] == run_id
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        daemon.stop(lab, stop_ray=False)
        daemon.stop(other, stop_ray=False)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
