"""The registry end to end: real runs of the bundled recipe, real ONNX Runtime gates,
the real CLI and lab service. One lab and four runs are shared by the module; the
tests run in file order and each states what it relies on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json, module_lab

pytestmark = pytest.mark.ray
NAME = "breast-cancer"
RECIPE = "recipes/tabular-classifier"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    yield from module_lab(tmp_path_factory, ray_cluster, "registry")


@pytest.fixture(scope="module")
def runs(lab: Lab) -> dict[str, dict[str, Any]]:
    """weak (champion to beat), good (the recipe's defaults), worse, unfair (biased labels)."""
    def run(*sets: str) -> dict[str, Any]:
        args = [a for s in sets for a in ("--set", s)]
        result = mlopslab_json(lab, "run", RECIPE, *args)
        assert result["status"] == "finished", result
        return result
    return {"weak": run("n_estimators=5", "max_depth=2"), "good": run(),
            "worse": run("n_estimators=1", "max_depth=1"), "unfair": run("group_label_bias=1.0")}


def register(lab: Lab, run: dict[str, Any]) -> dict[str, Any]:
    return mlopslab_json(lab, "models", "register", run["id"], "--name", NAME)


def gate(lab: Lab, ref: str, *extra: str) -> tuple[int, dict[str, Any]]:
    done = mlopslab(lab, "gate", ref, "--json", *extra, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def promote(lab: Lab, ref: str, *extra: str) -> tuple[int, dict[str, Any]]:
    done = mlopslab(lab, "promote", ref, "--json", *extra, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def champion(lab: Lab) -> int | None:
    models = {m["name"]: m for m in mlopslab_json(lab, "models", "ls")}
    return models[NAME]["aliases"].get("champion")


def test_finished_runs_are_registered_automatically(lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    versions: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(versions) < len(runs) and time.monotonic() < deadline:
        if NAME in {m["name"] for m in mlopslab_json(lab, "models", "ls")}:
            versions = mlopslab_json(lab, "models", "ls", NAME)
        time.sleep(0.5)
    assert sorted(v["run_id"] for v in versions) == sorted(r["id"] for r in runs.values())
    assert mlopslab_json(lab, "models", "show", f"{NAME}:candidate")["run_id"] == runs["unfair"]["id"]
    logs = mlopslab(lab, "runs", "logs", runs["good"]["id"]).stdout
    assert f"registered model {NAME}@" in logs


def test_a_version_carries_its_metadata(lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    run = runs["good"]
    version = register(lab, run)
    assert version["created"] is False  # the auto-registrar got there first: same version back
    model = next(a for a in run["artifacts"] if a["kind"] == "model")
    holdout = next(a for a in run["artifacts"] if a["path"] == "holdout.csv")
    assert version["sha256"] == model["sha256"] and version["run_id"] == run["id"]
    assert version["train_data"] == run["data_version"]
    assert version["holdout_data"] == f"sha256:{holdout['sha256']}"
    assert version["schema"]["inputs"] == [{"name": "input", "type": "tensor(float)", "shape": [None, 30]}]
    assert [o["name"] for o in version["schema"]["outputs"]] == ["label", "probabilities"]
    assert version["deps"]["packages"]["scikit-learn"] and version["deps"]["onnx"]["opset"]["ai.onnx"] == 17
    # ONNX Runtime's float32 scores agree with the recipe's own sklearn evaluation
    assert abs(version["scores"]["accuracy"] - run["metrics"]["accuracy"]) < 0.015
    assert abs(version["scores"]["roc_auc"] - run["metrics"]["roc_auc"]) < 0.01
    assert version["sensitive"] == "group" and "equalized_odds_difference" in version["groups"]
    assert version["gates"]["regression"]["accuracy"]["max_regression"] == 0.02


def test_without_a_champion_regression_passes_and_the_other_gates_still_run(
        lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    weak = register(lab, runs["weak"])
    code, report = gate(lab, f"{NAME}@{weak['version']}")
    assert code == 0, report["failed"]
    assert report["champion_version"] is None
    vs = next(c for c in report["checks"] if c["name"] == "accuracy:vs_champion")
    assert vs["passed"] and "no champion" in vs["detail"]["note"]
    assert {c["gate"] for c in report["checks"]} == {"evaluation", "integrity", "regression", "bias", "latency"}
    code, result = promote(lab, f"{NAME}@{weak['version']}")
    assert code == 0 and result["promoted"] and champion(lab) == weak["version"]


def test_a_better_candidate_passes_and_is_promoted(lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    weak, good = register(lab, runs["weak"]), register(lab, runs["good"])
    assert champion(lab) == weak["version"]  # from the test above
    code, report = gate(lab, f"{NAME}@{good['version']}")
    assert code == 0 and report["passed"] and report["champion_version"] == weak["version"]
    vs = next(c for c in report["checks"] if c["name"] == "accuracy:vs_champion")
    assert vs["value"] > vs["detail"]["champion_value"]
    code, result = promote(lab, f"{NAME}@{good['version']}")
    assert code == 0 and result["promoted"] and not result["forced"]
    assert result["report"]["id"] == report["id"]  # the fresh passing report was used, not re-run
    assert champion(lab) == good["version"]


def test_a_worse_candidate_fails_regression_and_promotion_is_refused(
        lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    good, worse = register(lab, runs["good"]), register(lab, runs["worse"])
    code, report = gate(lab, f"{NAME}@{worse['version']}")
    assert code == 1 and not report["passed"]
    assert "regression.accuracy:vs_champion" in report["failed"]
    check = next(c for c in report["checks"] if c["name"] == "accuracy:vs_champion")
    assert check["limit"] == pytest.approx(check["detail"]["champion_value"] - 0.02)
    done = mlopslab(lab, "promote", f"{NAME}@{worse['version']}", check=False)
    assert done.returncode == 1
    assert "accuracy" in done.stderr + done.stdout
    assert champion(lab) == good["version"]


def test_an_unfair_candidate_fails_the_bias_gate(lab: Lab, runs: dict[str, dict[str, Any]],
                                                tmp_path: Path) -> None:
    unfair = register(lab, runs["unfair"])
    code, report = gate(lab, f"{NAME}@{unfair['version']}")
    assert code == 1 and report["gates"]["bias"] is False
    eo = next(c for c in report["checks"] if c["name"] == "equalized_odds_difference")
    assert not eo["passed"] and eo["value"] > eo["limit"] == 0.3
    groups = eo["detail"]["groups"]
    assert groups["tpr_group_A"] < groups["tpr_group_B"]  # benign group-A patients are missed
    # with the regression gate opened wide, the bias gate alone still refuses it
    bias_only = tmp_path / "bias.toml"
    bias_only.write_text("[gates.regression.accuracy]\nmax_regression = 1.0\n"
                         "[gates.regression.roc_auc]\nmax_regression = 1.0\n"
                         "[gates.bias]\nattribute = 'group'\nequalized_odds_difference = 0.3\n")
    code, report = gate(lab, f"{NAME}@{unfair['version']}", "--gates", str(bias_only))
    assert code == 1 and report["failed"] == ["bias.equalized_odds_difference"]


def test_a_tight_latency_budget_fails_the_latency_gate(
        lab: Lab, runs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    good = register(lab, runs["good"])
    tight = tmp_path / "gates.toml"
    tight.write_text("[gates.latency]\nprovider = 'cpu'\np95_ms = 0.0001\nbatch_size = 16\n")
    code, report = gate(lab, f"{NAME}@{good['version']}", "--gates", str(tight))
    assert code == 1 and report["failed"] == ["latency.p95_ms@batch1"]
    p95 = next(c for c in report["checks"] if c["name"] == "p95_ms@batch1")
    assert p95["value"] > 0.0001 and p95["detail"]["provider"] == "CPUExecutionProvider"
    stats = report["info"]["latency"]
    assert set(stats) == {"1", "16"}
    assert stats["1"]["p50_ms"] <= stats["1"]["p95_ms"] <= stats["1"]["p99_ms"]
    # the recipe's own budget (p95 5 ms at batch 1) passes on the same model
    code, report = gate(lab, f"{NAME}@{good['version']}")
    assert code == 0 and report["gates"]["latency"]


def test_a_forced_promotion_is_recorded_with_its_reason(lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    good, worse = register(lab, runs["good"]), register(lab, runs["worse"])
    done = mlopslab(lab, "promote", f"{NAME}@{worse['version']}", "--force", check=False)
    assert done.returncode == 2 and "--reason" in done.stderr
    code, result = promote(lab, f"{NAME}@{worse['version']}", "--force", "--reason", "hotfix: rollback drill")
    assert code == 0 and result["promoted"] and result["forced"]
    assert champion(lab) == worse["version"]
    history = mlopslab_json(lab, "models", "history", NAME, "--alias", "champion")["history"]
    last = history[-1]
    assert (last["from_version"], last["to_version"]) == (good["version"], worse["version"])
    assert last["forced"] and last["reason"] == "hotfix: rollback drill" and last["actor"]


def test_alias_history_answers_which_version_was_champion_at_a_time(lab: Lab) -> None:
    history = mlopslab_json(lab, "models", "history", NAME, "--alias", "champion")["history"]
    assert len(history) >= 3  # weak, then good, then the forced one (tests above)
    for before, after in zip(history, history[1:], strict=False):
        t0, t1 = datetime.fromisoformat(before["ts"]), datetime.fromisoformat(after["ts"])
        middle = (t0 + (t1 - t0) / 2).isoformat()
        answer = mlopslab_json(lab, "models", "history", NAME, "--at", middle)
        assert answer["version"] == before["to_version"]
    first = datetime.fromisoformat(history[0]["ts"])
    earlier = mlopslab_json(lab, "models", "history", NAME, "--at",
                            first.replace(year=first.year - 1).isoformat())
    assert earlier["version"] is None
    now = mlopslab_json(lab, "models", "history", NAME, "--at", datetime.now(UTC).isoformat())
    assert now["version"] == history[-1]["to_version"]


def test_lineage_leads_from_the_champion_back_to_its_data_hash(
        lab: Lab, runs: dict[str, dict[str, Any]]) -> None:
    graph = mlopslab_json(lab, "lineage", f"model:{NAME}:champion")
    start = graph["node"]["ref"]
    version = mlopslab_json(lab, "models", "show", f"{NAME}:champion")
    run = next(r for r in runs.values() if r["id"] == version["run_id"])
    data_file = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    data_ref = "data:sha256:" + hashlib.sha256(data_file.read_bytes()).hexdigest()
    up = {(e["source"], e["target"]) for e in graph["upstream"]["edges"]}
    assert (f"run:{run['id']}", start) in up and (data_ref, f"run:{run['id']}") in up
    assert any(n["ref"].startswith("gate:") for n in graph["downstream"]["nodes"])
    # and back down from the data: the same version is reachable
    down = mlopslab_json(lab, "lineage", data_ref)
    assert start in {n["ref"] for n in down["downstream"]["nodes"]}


def test_an_outside_onnx_file_goes_through_the_same_gates(
        lab: Lab, runs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    holdout_sha = next(a for a in runs["good"]["artifacts"] if a["path"] == "holdout.csv")["sha256"]
    holdout = tmp_path / "holdout.csv"
    holdout.write_bytes(lab.artifact_path(holdout_sha).read_bytes())
    source = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    lines = source.read_text().splitlines()
    held = {tuple(float(v) for v in line.split(",")[:30]) for line in holdout.read_text().splitlines()[1:]}
    train_lines = [line for line in lines[1:] if tuple(float(v) for v in line.split(",")[:30]) not in held]
    train_csv = tmp_path / "train.csv"
    train_csv.write_text("\n".join([lines[0], *train_lines]) + "\n")
    data = np.genfromtxt(train_csv, delimiter=",", skip_header=1, usecols=range(31))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data[:, :30], data[:, 30])
    onnx_file = tmp_path / "logreg.onnx"
    onnx_file.write_bytes(convert_sklearn(
        model, initial_types=[("input", FloatTensorType([None, 30]))],
        options={id(model): {"zipmap": False}}).SerializeToString())
    version = mlopslab_json(lab, "models", "register", "--file", str(onnx_file), "--name", NAME,
                            "--data", str(holdout), "--target", "target", "--sensitive", "group",
                            "--train-data", str(train_csv))
    assert version["source"] == "file" and version["run_id"] is None
    assert version["holdout_data"] == "sha256:" + hashlib.sha256(holdout.read_bytes()).hexdigest()
    assert version["schema"]["inputs"][0]["shape"] == [None, 30]
    code, report = gate(lab, f"{NAME}@{version['version']}")
    assert code == 0, report["failed"]
    assert report["champion_version"] == champion(lab)
    assert {c["gate"] for c in report["checks"]} >= {"integrity", "regression", "bias", "latency"}
    code, result = promote(lab, f"{NAME}@{version['version']}")
    assert code == 0 and champion(lab) == version["version"]
    graph = mlopslab_json(lab, "lineage", f"model:{NAME}@{version['version']}")
    assert f"data:{version['holdout_data']}" in {n["ref"] for n in graph["upstream"]["nodes"]}


def test_what_cannot_be_registered_is_refused(lab: Lab, tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    holdout = tmp_path / "h.csv"
    holdout.write_text("a,target\n1.0,0\n")
    done = mlopslab(lab, "models", "register", "--file", str(junk), "--name", "junk",
                    "--data", str(holdout), "--target", "target", check=False)
    assert done.returncode == 1 and "does not load" in done.stderr
    done = mlopslab(lab, "models", "register", "--file", str(junk), "--name", "junk", check=False)
    assert done.returncode == 2  # --file without --data/--target
    assert "junk" not in {m["name"] for m in mlopslab_json(lab, "models", "ls")}


def test_a_run_without_holdout_data_cannot_be_registered(lab: Lab, tmp_path: Path) -> None:
    recipe = tmp_path / "bare"
    recipe.mkdir()
    (recipe / "recipe.toml").write_text(
        'name = "bare"\n[[steps]]\nname = "export"\nfunction = "steps:export"\n')
    onnx_bytes = lab.artifact_path(
        mlopslab_json(lab, "models", "show", f"{NAME}@1")["sha256"]).read_bytes()
    (tmp_path / "model.onnx").write_bytes(onnx_bytes)
    (recipe / "steps.py").write_text(
        "import pathlib\n"
        "def export(ctx):\n"
        f"    ctx.save_model(pathlib.Path({str(tmp_path / 'model.onnx')!r}))\n")
    run = mlopslab_json(lab, "run", str(recipe))
    assert run["status"] == "finished"
    done = mlopslab(lab, "models", "register", run["id"], "--name", "bare", check=False)
    assert done.returncode == 1 and "no holdout data" in done.stderr
    assert "bare" not in {m["name"] for m in mlopslab_json(lab, "models", "ls")}
