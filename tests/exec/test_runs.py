"""End to end: real CLI, real lab service, real DuckDB, real Ray cluster."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json

pytestmark = pytest.mark.ray


def write_recipe(folder: Path, steps_py: str, extra_toml: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.toml").write_text(textwrap.dedent("""
        name = "probe"
        seed = 1
        [params.n]
        type = "int"
        default = 3
        min = 1
        max = 100
        [[steps]]
        name = "first"
        function = "steps:first"
        [[steps]]
        name = "second"
        function = "steps:second"
    """) + textwrap.dedent(extra_toml))
    (folder / "steps.py").write_text(textwrap.dedent(steps_py))
    return folder


PROBE_STEPS = """
    import os, pathlib, time
    HERE = pathlib.Path(__file__).parent

    def first(ctx):
        with open(HERE.parent / "first_calls.txt", "a") as f:
            f.write("x")
        for i in range(ctx.params["n"]):
            ctx.log_metric("loss", 1.0 / (i + 1))
        print("first done")
        return list(range(ctx.params["n"]))

    def second(ctx):
        if (HERE / "fail_flag").exists():
            raise RuntimeError("second step failed on purpose")
        if (HERE / "sleep_flag").exists():
            time.sleep(float((HERE / "sleep_flag").read_text()))
        ctx.log_metric("total", sum(ctx.inputs["first"]))
        return sum(ctx.inputs["first"])
"""


def test_tabular_classifier_end_to_end(lab: Lab) -> None:
    run = mlopslab_json(lab, "run", "recipes/tabular-classifier", "--set",
                        "n_estimators=50", "--seed", "7")
    assert run["status"] == "finished"
    assert run["params"]["n_estimators"] == 50 and run["seed"] == 7
    assert run["metrics"]["accuracy"] > 0.85
    data_file = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    assert run["data_version"] == "sha256:" + hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert run["code_version"].startswith(("sha256:", "git:"))
    assert run["deps"]["packages"]["scikit-learn"]
    assert [s["name"] for s in run["steps"]] == ["split", "train", "export", "evaluate"]
    model = next(a for a in run["artifacts"] if a["path"] == "model.onnx")
    stored = lab.artifact_path(model["sha256"])
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == model["sha256"]
    assert run["started_at"] and run["ended_at"] and run["started_at"] <= run["ended_at"]

    listed = mlopslab_json(lab, "runs", "ls")
    assert [r["id"] for r in listed] == [run["id"]]
    series = mlopslab_json(lab, "runs", "metrics", run["id"], "--key", "staged_accuracy")
    assert len(series) > 1 and [p["step"] for p in series] == sorted(p["step"] for p in series)
    logs = mlopslab(lab, "runs", "logs", run["id"]).stdout
    assert "step train: finished" in logs


def test_same_inputs_give_byte_identical_models(lab: Lab) -> None:
    args = ("run", "recipes/tabular-classifier", "--set", "n_estimators=20", "--from-scratch")
    one = mlopslab_json(lab, *args)
    two = mlopslab_json(lab, *args)
    other_seed = mlopslab_json(lab, *args, "--seed", "99")

    def model_sha(run: dict) -> str:
        return next(a["sha256"] for a in run["artifacts"] if a["kind"] == "model")

    assert not any(s["cached"] for s in two["steps"])
    assert model_sha(one) == model_sha(two)
    assert model_sha(one) != model_sha(other_seed)


def test_mlp_digits_is_reproducible(lab: Lab) -> None:
    args = ("run", "recipes/mlp-digits", "--set", "epochs=3", "--from-scratch")
    one, two = mlopslab_json(lab, *args), mlopslab_json(lab, *args)
    assert one["status"] == two["status"] == "finished"
    shas = [{a["sha256"] for a in r["artifacts"] if a["kind"] == "model"} for r in (one, two)]
    assert shas[0] == shas[1] and len(shas[0]) == 1
    assert len(mlopslab_json(lab, "runs", "metrics", one["id"], "--key", "loss")) == 3


def test_cache_reuses_steps_and_resume_starts_at_failed_step(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "fail_flag").write_text("")
    failed = mlopslab(lab, "run", str(recipe), "--json", check=False)
    assert failed.returncode == 1
    run_id = mlopslab_json(lab, "runs", "ls")[0]["id"]
    run = mlopslab_json(lab, "runs", "show", run_id)
    assert run["status"] == "failed" and "failed on purpose" in run["reason"]
    assert [s["status"] for s in run["steps"]] == ["finished", "failed"]
    assert "RuntimeError: second step failed on purpose" in mlopslab(
        lab, "runs", "logs", run_id).stdout

    (recipe / "fail_flag").unlink()
    resumed = mlopslab_json(lab, "run", "--resume", run_id)
    assert resumed["id"] == run_id and resumed["status"] == "finished"
    assert resumed["attempt"] == 2
    assert [s["status"] for s in resumed["steps"]] == ["cached", "finished"]
    assert (recipe.parent / "first_calls.txt").read_text() == "x"  # first step ran once
    assert resumed["metrics"] == {"loss": pytest.approx(1 / 3), "total": 3.0}

    again = mlopslab_json(lab, "run", str(recipe))
    assert [s["cached"] for s in again["steps"]] == [True, True]
    assert len(mlopslab_json(lab, "runs", "metrics", again["id"], "--key", "loss")) == 3
    fresh = mlopslab_json(lab, "run", str(recipe), "--from-scratch")
    assert [s["cached"] for s in fresh["steps"]] == [False, False]
    assert (recipe.parent / "first_calls.txt").read_text() == "xx"


def test_killed_run_process_is_marked_failed_and_store_stays_intact(
        lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "sleep_flag").write_text("60")
    run = mlopslab_json(lab, "run", str(recipe), "--detach")
    pid = _wait_for_pid(lab, run["id"])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = mlopslab_json(lab, "runs", "show", run["id"])
        if shown["status"] != "running":
            break
        time.sleep(0.5)
    assert shown["status"] == "failed"
    assert "ended without reporting" in shown["reason"]
    assert shown["metrics"]["loss"] == pytest.approx(1 / 3)  # acknowledged writes survived
    (recipe / "sleep_flag").unlink()
    after = mlopslab_json(lab, "run", str(recipe))
    assert after["status"] == "finished"


def _wait_for_pid(lab: Lab, run_id: str) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = mlopslab_json(lab, "runs", "show", run_id)
        steps = {s["name"]: s["status"] for s in run["steps"]}
        if steps.get("second") == "running":
            return int(_pid_of(lab, run_id))
        time.sleep(0.3)
    raise AssertionError("the run did not reach its second step")


def _pid_of(lab: Lab, run_id: str) -> int:
    from mlopslab.client import LabClient

    with LabClient(lab) as client:
        return int(client.runs.get(run_id=run_id).pid or 0)


def test_commands_answer_while_a_recipe_runs(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "sleep_flag").write_text("8")
    run = mlopslab_json(lab, "run", str(recipe), "--detach")
    _wait_for_pid(lab, run["id"])
    start = time.monotonic()
    ls = subprocess.Popen([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "runs", "ls",
                           "--json"], stdout=subprocess.PIPE, text=True)
    shown = mlopslab_json(lab, "runs", "show", run["id"])
    listed = ls.communicate(timeout=30)[0]
    assert time.monotonic() - start < 8, "commands waited for the running recipe"
    assert shown["status"] == "running" and run["id"] in listed
    deadline = time.monotonic() + 60
    while mlopslab_json(lab, "runs", "show", run["id"])["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert mlopslab_json(lab, "runs", "show", run["id"])["status"] == "finished"


def test_bad_data_fails_early_with_a_report(lab: Lab, tmp_path: Path) -> None:
    source = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    lines = source.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("group")] = "Z"
    row[header.index("mean_radius")] = "-5"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    done = mlopslab(lab, "run", "recipes/tabular-classifier", "--data", f"train={bad}",
                    "--json", check=False)
    assert done.returncode == 3  # the documented exit code of a data validation failure
    run = mlopslab_json(lab, "runs", "ls")[0]
    assert run["status"] == "failed" and run["reason"] == "data validation failed"
    assert "column 'group'" in run["error"] and "'Z'" in run["error"]
    assert "column 'mean_radius'" in run["error"] and "row 1" in run["error"]
    assert mlopslab_json(lab, "runs", "show", run["id"])["steps"] == []


def test_bad_override_and_malformed_recipe_fail_before_anything_runs(
        lab: Lab, tmp_path: Path) -> None:
    done = mlopslab(lab, "run", "recipes/tabular-classifier", "--set", "n_estimators=lots",
                    check=False)
    assert done.returncode == 2
    assert "--set n_estimators=lots: 'lots' is not a valid int" in done.stderr
    broken = write_recipe(tmp_path / "broken", PROBE_STEPS, "[resources]\ngpus = 'two'\n")
    done = mlopslab(lab, "run", str(broken), check=False)
    assert done.returncode == 2
    assert str(broken / "recipe.toml") in done.stderr and "resources.gpus" in done.stderr
    assert mlopslab_json(lab, "runs", "ls") == []


def test_sweep_makes_one_run_per_value(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    runs = mlopslab_json(lab, "run", str(recipe), "--sweep", "n=2,4,5")
    assert sorted(r["metrics"]["total"] for r in runs) == [1.0, 6.0, 10.0]
    found = mlopslab_json(lab, "runs", "ls", "--filter", "metrics.total > 5 and params.n < 5",
                          "--sort", "-metrics.total")
    assert [r["params"]["n"] for r in found] == [4]


def test_dvc_tracked_input_is_versioned_by_its_dvc_md5(lab: Lab, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    recipe = write_recipe(repo / "probe", PROBE_STEPS + """
    def third(ctx):
        return ctx.data["table"].read_text().count("\\n")
    """, extra_toml="""
        [[steps]]
        name = "third"
        function = "steps:third"
        [data.table]
        path = "table.csv"
        format = "file"
    """)
    (recipe / "table.csv").write_text("a,b\n1,2\n3,4\n")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    for cmd in (["git", "init", "-q"], [str(Path(sys.executable).with_name("dvc")), "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "add", "-q", "probe/table.csv"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "data"], cwd=repo, check=True, env=env)
    md5 = hashlib.md5((recipe / "table.csv").read_bytes()).hexdigest()  # noqa: S324
    run = mlopslab_json(lab, "run", str(recipe))
    assert run["data_version"] == f"md5:{md5}"
    assert run["inputs"][0]["source"] == "dvc"
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert run["code_version"] == f"git:{commit}"
    (recipe / "steps.py").write_text((recipe / "steps.py").read_text() + "\n# edited\n")
    dirty = mlopslab_json(lab, "run", str(recipe))
    assert dirty["code_version"].startswith(f"git:{commit}-dirty:")
    lineage = mlopslab_json(lab, "lineage", f"data:md5:{md5}")
    runs = {n["ref"] for n in lineage["downstream"]["nodes"] if n["kind"] == "run"}
    assert {f"run:{run['id']}", f"run:{dirty['id']}"} <= runs

    # data changed without `dvc add`: refused, with what to run; nothing recorded as a new version
    (recipe / "table.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    changed = mlopslab(lab, "run", str(recipe), check=False)
    assert changed.returncode == 3, changed.stdout + changed.stderr
    assert "probe/table.csv changed since DVC recorded it" in changed.stdout + changed.stderr
    assert "dvc add table.csv" in changed.stdout + changed.stderr
    refused = mlopslab_json(lab, "runs", "show", mlopslab_json(lab, "runs", "ls")[0]["id"])
    assert refused["status"] == "failed" and refused["data_version"] is None


def test_a_dvc_stage_output_is_versioned_by_dvc_lock(tmp_path: Path) -> None:
    from mlopslab.core.errors import DataValidationError
    from mlopslab.exec.provenance import data_version

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], [str(Path(sys.executable).with_name("dvc")), "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    (repo / "make.py").write_text("open('data/features.csv', 'w').write('x\\n1\\n2\\n')\n")
    dvc = str(Path(sys.executable).with_name("dvc"))
    subprocess.run([dvc, "stage", "add", "-q", "-n", "features", "-d", "make.py", "-o", "data/features.csv",
                    f"{sys.executable} make.py"], cwd=repo, check=True, env=env)
    subprocess.run([dvc, "repro", "-q"], cwd=repo, check=True, env=env, capture_output=True)
    out = repo / "data" / "features.csv"
    md5 = hashlib.md5(out.read_bytes()).hexdigest()  # noqa: S324
    found = data_version(out)
    assert found["hash"] == f"md5:{md5}" and found["source"] == "dvc"
    out.write_text("x\n1\n")
    with pytest.raises(DataValidationError, match="changed since DVC recorded it") as e:
        data_version(out)
    assert "dvc repro" in (e.value.hint or "") and "dvc.lock" in e.value.message


def test_ray_address_flag_runs_on_that_cluster(tmp_path: Path, ray_cluster) -> None:
    from mlopslab.client import daemon
    from mlopslab.lab import init_lab

    own = init_lab(tmp_path / "own")  # no ray.address: would start a local cluster
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    try:
        run = mlopslab_json(own, "run", str(recipe), "--ray-address", ray_cluster.address)
        assert run["status"] == "finished"
        assert f"connected to Ray at {ray_cluster.address}" in mlopslab(
            own, "runs", "logs", run["id"]).stdout
        assert not (own.state / "ray.json").exists(), "the lab started its own cluster"
    finally:
        daemon.stop(own, stop_ray=True)


def test_time_limit_stops_the_run_as_timed_out(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "sleep_flag").write_text("60")
    start = time.monotonic()
    done = mlopslab(lab, "run", str(recipe), "--time-limit", "4s", "--json", check=False)
    assert done.returncode == 124
    assert time.monotonic() - start < 40
    run = mlopslab_json(lab, "runs", "show", mlopslab_json(lab, "runs", "ls")[0]["id"])
    assert run["status"] == "timed_out" and run["reason"].startswith("time limit of 4s reached")
    assert run["resources"]["time_limit"] == "4s"


def test_cancel_stops_a_running_run(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "sleep_flag").write_text("60")
    run = mlopslab_json(lab, "run", str(recipe), "--detach")
    _wait_for_pid(lab, run["id"])
    assert "cancelled" in mlopslab(lab, "runs", "cancel", run["id"]).stdout
    shown = mlopslab_json(lab, "runs", "show", run["id"])
    assert shown["status"] == "cancelled" and shown["ended_at"]
