"""`mlopslab demo`: the README's main command, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json


@pytest.mark.ray
@pytest.mark.slow
def test_demo_makes_a_lab_runs_the_recipes_and_cleans_up(tmp_path: Path) -> None:
    done = mlopslab(None, "demo", str(tmp_path / "demo"), timeout=600)
    assert "1. mlopslab init" in done.stdout and "done in" in done.stdout
    lines = done.stdout.splitlines()
    # every registration is said once, Ray's connection not once per run, commands never broken
    for number in (1, 2):
        assert sum(f"registered model breast-cancer@{number}" in line for line in lines) == 1
    assert "connecting to Ray" not in done.stdout
    assert any(line.endswith("mlopslab run recipes/tabular-classifier --set n_estimators=200 "
                             "--set max_depth=8") for line in lines)
    # gating is its own step, on the model's evaluation set
    assert "mlopslab gate breast-cancer@2" in done.stdout and "evaluation set 1" in done.stdout
    assert "undeployed breast-cancer (its endpoint is gone) and stopped the lab service" in done.stdout
    lab = Lab(tmp_path / "demo")
    runs = mlopslab_json(lab, "runs", "ls")
    assert sorted(r["recipe"] for r in runs) == ["mlp-digits", "tabular-classifier",
                                                 "tabular-classifier", "train_logreg"]
    assert all(r["status"] == "finished" for r in runs)
    # a plain script, run through the queue, tracked with the tracking API inside it
    script = next(r for r in runs if r["recipe"] == "train_logreg")
    assert script["kind"] == "script" and script["metrics"]["accuracy"] > 0.9
    assert script["params"] == {"C": 0.5} and "mlopslab run scripts/train_logreg.py -- --C 0.5 --data" in done.stdout
    assert f"mlopslab --lab {tmp_path / 'demo'} tui" in done.stdout
    # the demo lab is a git repository with its datasets under DVC: runs record DVC's md5 and a git commit
    assert "git init, dvc init, dvc add: 2 datasets under DVC" in done.stdout
    tabular = mlopslab_json(lab, "runs", "show", next(r["id"] for r in runs if r["recipe"] == "tabular-classifier"))
    assert tabular["inputs"][0]["source"] == "dvc" and tabular["data_version"].startswith("md5:")
    assert tabular["code_version"].startswith("git:") and "-dirty" not in tabular["code_version"]
    # the models were promoted through their gates, deployed blue/green and rolled back
    assert "champion is now breast-cancer@1" in done.stdout
    assert "version 1 predicts" in done.stdout and "version 2 predicts" in done.stdout
    assert "switched back in" in done.stdout
    from mlopslab.deploy.docker import engine_problem

    backend = "process" if engine_problem() else "docker"  # Docker when an engine answers
    assert f"mlopslab deploy breast-cancer@1 --backend {backend}" in done.stdout
    versions = mlopslab_json(lab, "models", "ls", "breast-cancer")
    assert len(versions) == 2
    assert mlopslab_json(lab, "deployments", "ls") == [], "the demo left its deployment running"
    assert not (lab.state / "ray.json").exists(), "the demo left its Ray cluster running"
    mlopslab(lab, "lab", "stop")


def test_demo_with_keep_running_says_what_is_up_and_how_to_stop_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlopslab.cli.demo import _say_end

    _say_end(Lab(tmp_path), "http://127.0.0.1:8123", True, 61.0, ["261201-000000-abcd"])
    out = capsys.readouterr().out
    assert "still running" in out and "http://127.0.0.1:8123" in out
    assert f"mlopslab --lab {tmp_path} undeploy breast-cancer && mlopslab --lab {tmp_path} lab stop" in out
