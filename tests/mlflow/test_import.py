"""`mlopslab import mlflow`: a real MLflow store made with MLflow's own client, imported,
and read back through the lab's MLflow API: every value and timestamp the same; a second
import adds nothing; what changed in MLflow is added once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json
from tests.mlflow.scripts import LOG, READ
from tests.mlflow.test_compat import run_script

MORE = '''
import mlflow
client = mlflow.MlflowClient()
exp = client.get_experiment_by_name("vision")
run = client.search_runs([exp.experiment_id], "attributes.run_name = 'run-3'")[0]
client.log_metric(run.info.run_id, "loss", 0.001, timestamp=1_800_000_000_000, step=500)
'''


def imported(lab: Lab, uri: str) -> dict[str, Any]:
    result: dict[str, Any] = mlopslab_json(lab, "import", "mlflow", uri)
    return result


def test_an_mlflow_sqlite_store_imports_whole_and_a_second_import_adds_nothing(
        tmp_path: Path, mlflow_store: tuple[Path, dict[str, Any]]) -> None:
    shutil.copy(mlflow_store[0], tmp_path / "mlflow.db")  # this test adds to it
    sqlite = f"sqlite:///{tmp_path / 'mlflow.db'}"
    theirs = mlflow_store[1]
    lab = init_lab(tmp_path / "lab", "imported")
    try:
        first = imported(lab, sqlite)
        assert first["matches"] and first["mlflow"] == first["lab"]
        assert first["mlflow"]["runs"] == 6 and first["mlflow"]["metric points"] > 1000
        assert first["mlflow"]["model versions"] == 2 and first["mlflow"]["aliases"] == 1
        assert first["added_runs"] == 6

        proc = subprocess.Popen([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "mlflow-server",
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        uri = proc.stdout.readline().rsplit(" ", 1)[1].strip()
        try:
            ours = json.loads(run_script(READ, uri, tmp_path / "read-lab", lab.token("mlflow")))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        assert ours == theirs  # values, steps, timestamps, tags, artifacts, the registry: all the same

        mlflow_ids = {r["run_name"]: r for r in _mlflow_runs(sqlite, tmp_path)}
        shown = mlopslab_json(lab, "runs", "show", mlflow_ids["run-0"]["run_id"])
        assert shown["id"] == mlflow_ids["run-0"]["run_id"] and shown["kind"] == "mlflow"
        assert shown["started_at"].startswith(mlflow_ids["run-0"]["start"][:19])

        again = imported(lab, sqlite)
        assert again["matches"] and again["added_runs"] == 0 and again["updated_runs"] == 0
        assert again["unchanged_runs"] == 6 and again["added_metric_points"] == 0 and again["added_artifacts"] == 0

        run_script(MORE, sqlite, tmp_path / "more")
        third = imported(lab, sqlite)
        assert third["matches"] and third["updated_runs"] == 1 and third["added_metric_points"] == 1
    finally:
        mlopslab(lab, "lab", "stop", check=False)


def test_an_mlruns_folder_imports_too_and_a_bad_uri_is_a_clear_error(tmp_path: Path) -> None:
    mlruns = tmp_path / "mlruns"
    run_script(LOG, mlruns.as_uri(), tmp_path / "log")
    lab = init_lab(tmp_path / "lab", "files")
    try:
        done = imported(lab, str(mlruns))
        assert done["matches"] and done["mlflow"]["runs"] == 6 and done["mlflow"]["artifacts"] == 2
        bad = mlopslab(lab, "import", "mlflow", str(tmp_path / "nowhere"), check=False)
        assert bad.returncode == 1 and "no such mlruns folder" in bad.stderr and "Traceback" not in bad.stderr
        missing = mlopslab(lab, "import", "mlflow", f"sqlite:///{tmp_path / 'none.db'}", check=False)
        assert missing.returncode == 1 and "no such sqlite file" in missing.stderr
    finally:
        mlopslab(lab, "lab", "stop", check=False)


def _mlflow_runs(uri: str, folder: Path) -> list[dict[str, str]]:
    code = '''
import json, datetime, mlflow
client = mlflow.MlflowClient()
exp = client.get_experiment_by_name("vision")
print(json.dumps([{"run_name": r.info.run_name, "run_id": r.info.run_id,
                   "start": datetime.datetime.fromtimestamp(r.info.start_time / 1000, datetime.UTC).isoformat()}
                  for r in client.search_runs([exp.experiment_id], "")]))
'''
    found: list[dict[str, str]] = json.loads(run_script(code, uri, folder / "ids"))
    return found


LONG_NAME = '''
import mlflow
mlflow.set_experiment("a" * 250)
with mlflow.start_run(run_name="kept-out"):
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("loss", 0.5)
mlflow.set_experiment("fits")
with mlflow.start_run(run_name="kept"):
    mlflow.log_metric("loss", 0.4)
'''


def test_what_the_lab_refuses_shows_in_the_counts_and_the_import_exits_1(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_script(LONG_NAME, sqlite, tmp_path / "log")  # MLflow takes a 250-character experiment name
    lab = init_lab(tmp_path / "lab", "refusing")
    try:
        done = mlopslab(lab, "import", "mlflow", sqlite, check=False)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "the lab does not hold what MLflow has" in done.stderr and "Traceback" not in done.stderr
        assert "not imported: experiment 'aaaa" in done.stderr
        table = {line.split()[0] + (" " + line.split()[1] if line.split()[1].isalpha() else ""): line
                 for line in done.stdout.splitlines()[2:] if line.strip()}
        assert table["runs"].split()[1:] == ["2", "1", "DIFFERS"]
        assert table["experiments"].split()[1:] == ["3", "2", "DIFFERS"]  # Default, the long one, fits
        kept = mlopslab_json(lab, "runs", "ls")
        assert [r["recipe"] for r in kept] == ["kept"]
    finally:
        mlopslab(lab, "lab", "stop", check=False)
