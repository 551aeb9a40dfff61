"""The tracking API for plain Python code, for real: scripts run as their own processes
against a real lab service, and what they logged is read back as a user reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.hashing import sha256_file
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json


@pytest.fixture
def plain_lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab whose tracked runs need no Ray: its service alone."""
    lab = init_lab(tmp_path / "lab", "tracking")
    yield lab
    daemon.stop(lab, stop_ray=False)


def script(folder: Path, body: str) -> Path:
    path = folder / "train.py"
    path.write_text(textwrap.dedent(body))
    return path


def python(lab: Lab, path: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPSLAB_LAB": str(lab.root)}
    env.pop("MLOPSLAB_RUN_ID", None)
    done = subprocess.run([sys.executable, str(path)], cwd=path.parent, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{path.name} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def data(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4))
    y = (x[:, 0] - x[:, 2] > 0).astype(int)
    header = "f0,f1,f2,f3,target"
    train, holdout = folder / "train.csv", folder / "holdout.csv"
    for path, rows in ((train, slice(0, 300)), (holdout, slice(300, 400))):
        np.savetxt(path, np.column_stack([x[rows], y[rows]]), delimiter=",", header=header, comments="",
                   fmt=["%.6f"] * 4 + ["%d"])
    return train, holdout


TRAIN = """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import mlopslab

    mlopslab.seed(7)
    with mlopslab.start_run(project="scripts", name="lr", params={"C": 0.5, "layers": [4, 2]},
                            tags={"team": "ml"}) as run:
        run.log_input("train.csv")
        table = np.loadtxt("train.csv", delimiter=",", skiprows=1)
        x, y = table[:, :4], table[:, 4].astype(int)
        model = LogisticRegression(C=0.5).fit(x, y)
        for step in range(1000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        mlopslab.log_metrics({"train_accuracy": float(model.score(x, y))})
        run.log_params({"solver": "lbfgs"})
        run.set_tags({"stage": "baseline"})
        open("notes.txt", "w").write("first try")
        run.log_artifact("notes.txt")
        run.log_model(model, sample_input=x[:1], register_as="clf-script", holdout="holdout.csv",
                      target="target")
    print("ran", run.id)
"""


def test_a_script_is_tracked_with_provenance_and_its_model_goes_through_the_gates(
        plain_lab: Lab, tmp_path: Path) -> None:
    train, _ = data(tmp_path)
    done = python(plain_lab, script(tmp_path, TRAIN))
    run_id = done.stdout.split()[-1]
    assert f"run {run_id} (lr, project scripts) is tracked" in done.stderr
    assert "registered model clf-script@1" in done.stderr, done.stderr

    shown: dict[str, Any] = mlopslab_json(plain_lab, "runs", "show", run_id)
    assert shown["status"] == "finished" and shown["project"] == "scripts" and shown["recipe"] == "lr"
    assert shown["kind"] == "tracked" and shown["seed"] == 7
    assert shown["params"] == {"C": 0.5, "layers": [4, 2], "solver": "lbfgs"}
    assert shown["tags"]["team"] == "ml" and shown["tags"]["stage"] == "baseline"
    assert shown["code_version"] == f"sha256:{sha256_file(tmp_path / 'train.py')}"
    assert shown["deps"]["packages"]["numpy"] == np.__version__ and shown["host"]
    assert shown["inputs"][0]["hash"] == f"sha256:{sha256_file(train)}"
    assert shown["data_version"] == shown["inputs"][0]["hash"]
    kinds = {a["path"]: a["kind"] for a in shown["artifacts"]}
    assert kinds == {"notes.txt": "artifact", "model.onnx": "model", "holdout.csv": "holdout"}
    assert shown["started_at"] <= shown["ended_at"]

    with LabClient(plain_lab) as client:
        loss = client.runs.metrics(run_id=run_id, key="loss")
        assert [p.step for p in loss] == list(range(1000)) and loss[-1].value == pytest.approx(0.001)
        assert client.runs.metrics(run_id=run_id, key="train_accuracy")[0].value > 0.9
    listed = mlopslab(plain_lab, "runs", "ls").stdout
    assert run_id[:8] in listed and "lr" in listed

    version = mlopslab_json(plain_lab, "models", "show", "clf-script@1")
    assert version["run_id"] == run_id and version["scores"]["accuracy"] > 0.9
    verdict = mlopslab(plain_lab, "gate", "clf-script@1", check=False)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr  # its own holdout is not in train.csv
    mlopslab(plain_lab, "promote", "clf-script@1")
    assert "champion" in mlopslab_json(plain_lab, "models", "show", "clf-script@1")["aliases"]


def test_an_exception_fails_the_run_and_a_killed_process_is_marked_killed(plain_lab: Lab, tmp_path: Path) -> None:
    failing = python(plain_lab, script(tmp_path, """
        import mlopslab
        with mlopslab.start_run(name="boom") as run:
            print(run.id, flush=True)
            run.log_metric("x", 1.0)
            raise ValueError("the data is empty")
    """), check=False)
    assert failing.returncode == 1 and "ValueError: the data is empty" in failing.stderr
    failed = mlopslab_json(plain_lab, "runs", "show", failing.stdout.split()[0])
    assert failed["status"] == "failed" and failed["reason"] == "ValueError: the data is empty"
    assert failed["metrics"] == {"x": 1.0}

    no_with = python(plain_lab, script(tmp_path, """
        import mlopslab
        run = mlopslab.start_run(name="plain")
        print(run.id, flush=True)
        mlopslab.log_metric("y", 2.0)
    """))
    assert mlopslab_json(plain_lab, "runs", "show", no_with.stdout.split()[0])["status"] == "finished"

    killed = python(plain_lab, script(tmp_path, """
        import os, signal, mlopslab
        run = mlopslab.start_run(name="oom")
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """), check=False)
    assert killed.returncode == -9
    run_id = killed.stdout.split()[0]
    deadline = time.monotonic() + 30
    while (found := mlopslab_json(plain_lab, "runs", "show", run_id))["status"] == "running":
        assert time.monotonic() < deadline, "the killed script's run stayed running"
        time.sleep(0.5)
    assert found["status"] == "killed" and "ended without reporting a result" in found["reason"]


def test_logging_outside_a_run_and_a_second_run_are_clear_errors(plain_lab: Lab, tmp_path: Path) -> None:
    done = python(plain_lab, script(tmp_path, """
        import mlopslab
        from mlopslab.core.errors import MlopslabError
        try:
            mlopslab.log_metric("x", 1.0)
        except MlopslabError as e:
            print("outside:", e.message)
        with mlopslab.start_run(name="one"):
            try:
                mlopslab.start_run(name="two")
            except MlopslabError as e:
                print("second:", e.message)
            try:
                mlopslab.log_model(b"not onnx", register_as="x")
            except MlopslabError as e:
                print("model:", e.message)
    """))
    assert "outside: no active run in this process" in done.stdout
    assert "second: run " in done.stdout and "is active already" in done.stdout
    assert "model: log_model: register_as needs holdout=" in done.stdout
