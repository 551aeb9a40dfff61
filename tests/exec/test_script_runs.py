"""`mlopslab run SCRIPT.py -- ARGS`: a plain script through the queue and Ray, its output
as the run's logs and the tracking API inside it attached to the run."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from mlopslab.client import LabClient
from mlopslab.core.hashing import sha256_file
from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json
from tests.exec.test_tracking import data

pytestmark = pytest.mark.ray

TRAIN = """
    import sys
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import mlopslab

    print("args", sys.argv[1:])
    print("a warning", file=sys.stderr)
    lr = float(sys.argv[sys.argv.index("--C") + 1])
    mlopslab.log_params({"C": lr})
    mlopslab.log_input("train.csv")
    table = np.loadtxt("train.csv", delimiter=",", skiprows=1)
    x, y = table[:, :4], table[:, 4].astype(int)
    model = LogisticRegression(C=lr).fit(x, y)
    for step in range(20):
        mlopslab.log_metric("loss", 1.0 / (step + 1), step=step)
    mlopslab.log_model(model, sample_input=x[:1], register_as="wrapped", holdout="holdout.csv", target="target")
"""


def test_a_wrapped_script_runs_on_ray_with_its_args_logs_and_tracking(lab: Lab, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    train, _ = data(tmp_path)
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAIN))
    monkeypatch.chdir(tmp_path)  # the script runs where it was submitted from
    done = mlopslab(lab, "run", str(script), "--project", "scripts", "--cpus", "0.5", "--", "--C", "0.3")
    assert "args ['--C', '0.3']" in done.stdout, done.stdout
    run_id = mlopslab_json(lab, "runs", "ls")[0]["id"]
    shown: dict[str, Any] = mlopslab_json(lab, "runs", "show", run_id)
    assert shown["status"] == "finished" and shown["kind"] == "script" and shown["recipe"] == "train"
    assert shown["args"] == ["--C", "0.3"] and shown["project"] == "scripts"
    assert shown["params"] == {"C": 0.3} and shown["resources"]["cpus"] == 0.5
    assert shown["code_version"] == f"sha256:{sha256_file(script)}" and shown["deps"]["packages"]
    assert shown["inputs"][0]["hash"] == f"sha256:{sha256_file(train)}"
    assert [s["name"] for s in shown["steps"]] == ["script"] and shown["steps"][0]["status"] == "finished"
    assert shown["worker_pid"] and shown["metrics"]["loss"] == pytest.approx(0.05)
    with LabClient(lab) as client:
        lines = [(line.stream, line.line) for line in client.runs.logs(run_id=run_id)]
    assert ("stderr", "a warning") in lines and ("stdout", "args ['--C', '0.3']") in lines

    deadline = time.monotonic() + 30  # the lab registers it once the run has finished
    while not (models := mlopslab_json(lab, "models", "ls")):
        assert time.monotonic() < deadline, "the wrapped script's model was not registered"
        time.sleep(0.5)
    version = mlopslab_json(lab, "models", "show", "wrapped@1")
    assert version["run_id"] == run_id and models[0]["name"] == "wrapped"
    assert mlopslab(lab, "gate", "wrapped@1", check=False).returncode == 0


def test_a_failing_script_fails_the_run_and_a_time_limit_leaves_no_process(lab: Lab, tmp_path: Path) -> None:
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nprint('bad data')\nsys.exit(3)\n")
    done = mlopslab(lab, "run", str(failing), check=False)
    assert done.returncode == 1
    shown = mlopslab_json(lab, "runs", "show", mlopslab_json(lab, "runs", "ls")[0]["id"])
    assert shown["status"] == "failed" and "fail.py exited with code 3" in shown["reason"]

    slow = tmp_path / "slow.py"
    slow.write_text("import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n")
    done = mlopslab(lab, "run", str(slow), "--time-limit", "4s", check=False)
    assert done.returncode == 124
    shown = mlopslab_json(lab, "runs", "show", mlopslab_json(lab, "runs", "ls")[0]["id"])
    assert shown["status"] == "timed_out" and shown["worker_pid"]
    deadline = time.monotonic() + 20
    while psutil.pid_exists(shown["worker_pid"]) and psutil.Process(shown["worker_pid"]).status() != "zombie":
        assert time.monotonic() < deadline, "the timed-out script is still running"
        time.sleep(0.2)


def test_script_runs_refuse_recipe_options_and_recipes_refuse_arguments(lab: Lab, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    done = mlopslab(lab, "run", str(script), "--set", "lr=1", check=False)
    assert done.returncode == 2 and "--set is for recipes" in done.stderr and "after --" in done.stderr
    done = mlopslab(lab, "run", str(tmp_path / "missing.py"), check=False)
    assert done.returncode == 2 and "no such script" in done.stderr
    done = mlopslab(lab, "run", "tabular-classifier", "--", "--lr", "1", check=False)
    assert done.returncode == 2 and "a recipe takes no arguments" in done.stderr
    assert "Traceback" not in done.stderr
