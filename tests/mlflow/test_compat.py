"""The real `mlflow` client against `mlopslab mlflow-server`: an MLflow-only script runs
unmodified, and reads back what MLflow's own sqlite store gives for the same script;
the lab holds exactly what it logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab_json
from tests.mlflow.scripts import LOG, READ


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Lab, str]]:
    lab = init_lab(tmp_path / "lab", "mlflow")
    proc = subprocess.Popen([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "mlflow-server", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert " on http://127.0.0.1:" in first, first + (proc.stderr.read() if proc.stderr else "")
    yield lab, first.rsplit(" ", 1)[1].strip()
    proc.terminate()
    proc.wait(timeout=10)
    daemon.stop(lab, stop_ray=False)


def run_script(code: str, uri: str, folder: Path, token: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=uri, GIT_PYTHON_REFRESH="quiet")
    if uri.startswith("file:"):
        env["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps its file store for old histories only
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "script.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script), str(folder)], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_mlflow_script_logs_into_the_lab_and_reads_back_what_sqlite_gives(
        server: tuple[Lab, str], tmp_path: Path, mlflow_store: tuple[Path, dict[str, Any]]) -> None:
    lab, uri = server
    token = lab.token("mlflow")
    run_script(LOG, uri, tmp_path / "lab-log", token)
    ours = json.loads(run_script(READ, uri, tmp_path / "lab-read", token))
    theirs = mlflow_store[1]  # the same script against MLflow's own sqlite store

    assert ours["searches"] == theirs["searches"]
    assert ours["searches"][1] == ["run-1", "run-3"] and len(ours["searches"][5]) == 6
    assert set(ours["runs"]) == set(theirs["runs"]) == {"run-0", "run-1", "run-2", "run-3", "run-4", "child"}
    for name, want in theirs["runs"].items():
        got = ours["runs"][name]
        assert got == want, (name, {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v})
    assert len(ours["runs"]["run-0"]["loss_steps"]) == 1000
    assert ours["runs"]["child"]["parent"] == "run-1"
    assert ours["runs"]["run-2"]["notes"] == "the data had duplicates"
    assert ours["registry"] == theirs["registry"]
    assert ours["registry"]["aliases"] == {"champion": "2"} and ours["registry"]["champion"][1] == "run-1"

    # what the lab itself holds, as `mlopslab runs` shows it
    listed = {r["recipe"]: r for r in mlopslab_json(lab, "runs", "ls", "--limit", "100")}
    assert set(listed) == set(ours["runs"])
    shown: dict[str, Any] = mlopslab_json(lab, "runs", "show", listed["run-2"]["id"])
    assert shown["kind"] == "mlflow" and shown["project"] == "vision" and shown["status"] == "finished"
    assert shown["params"] == {"lr": "0.03", "layers": "2", "optimizer": "sgd"}
    assert shown["tags"]["team"] == "nlp" and shown["tags"]["batch"] == "yes"
    assert {a["path"] for a in shown["artifacts"]} == {"notes.txt", "reports/notes.txt"}
    with LabClient(lab) as client:
        loss = client.runs.metrics(run_id=listed["run-0"]["id"], key="loss")
        assert [p.step for p in loss] == list(range(1000)) and loss[-1].value == pytest.approx(1 / 1000)
        digits = next(m for m in client.runs.mlflow_registry() if m.name == "digits")
        assert digits.aliases == {"champion": 2} and [v.run_id for v in digits.versions] == [
            listed["run-0"]["id"], listed["run-1"]["id"]]


def test_no_token_no_entry_and_what_is_not_supported_says_so_in_mlflows_format(
        server: tuple[Lab, str]) -> None:
    lab, uri = server
    bare = httpx.post(f"{uri}/api/2.0/mlflow/experiments/create", json={"name": "x"}, timeout=10)
    assert bare.status_code == 401 and bare.json()["error_code"] == "UNAUTHENTICATED"
    wrong = httpx.get(f"{uri}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"},
                      headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {lab.token('mlflow')}"}
    gone = httpx.post(f"{uri}/api/2.0/mlflow/runs/delete", json={"run_id": "x"}, headers=auth, timeout=10)
    assert gone.status_code == 501 and gone.json()["error_code"] == "NOT_IMPLEMENTED"
    assert "not supported" in gone.json()["message"]
    missing = httpx.get(f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": "nope"}, headers=auth, timeout=10)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    exp = httpx.post(f"{uri}/api/2.0/mlflow/experiments/create", json={"name": "nlp"}, headers=auth, timeout=10)
    run = httpx.post(f"{uri}/api/2.0/mlflow/runs/create", json={"experiment_id": exp.json()["experiment_id"]},
                     headers=auth, timeout=10).json()["run"]["info"]["run_id"]
    first = httpx.post(f"{uri}/api/2.0/mlflow/runs/log-parameter", json={"run_id": run, "key": "lr", "value": "1"},
                       headers=auth, timeout=10)
    changed = httpx.post(f"{uri}/api/2.0/mlflow/runs/log-parameter",
                         json={"run_id": run, "key": "lr", "value": "2"}, headers=auth, timeout=10)
    assert first.status_code == 200 and changed.status_code == 400
    assert changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "cannot be changed" in changed.json()["message"]
    again = httpx.post(f"{uri}/api/2.0/mlflow/experiments/create", json={"name": "nlp"}, headers=auth, timeout=10)
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
