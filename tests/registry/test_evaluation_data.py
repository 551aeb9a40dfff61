"""Gates compare candidate and champion on evaluation rows neither trained on.

Real runs of the bundled recipe with different seeds, the real CLI and lab service.
The module's lab holds, in order: v1 a single deep tree (seed 7: memorises its
training rows, weaker on unseen ones), v2 the recipe's defaults (seed 42, clearly
better), v3 the README's `--set n_estimators=50 --seed 7` (whose run metric and
ONNX score once differed). Tests run in file order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json, module_lab

pytestmark = pytest.mark.ray
NAME = "breast-cancer"
RECIPE = "recipes/tabular-classifier"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    yield from module_lab(tmp_path_factory, ray_cluster, "evaldata")


@pytest.fixture(scope="module")
def versions(lab: Lab) -> dict[str, dict[str, Any]]:
    runs = {"tree": ("--set", "n_estimators=1", "--set", "max_depth=64", "--seed", "7"),
            "forest": (), "readme": ("--set", "n_estimators=50", "--seed", "7")}
    made = {}
    for key, args in runs.items():
        run = mlopslab_json(lab, "run", RECIPE, *args)
        assert run["status"] == "finished", run
        made[key] = {"run": run, "version": registered(lab, run["id"])}
    return made


def registered(lab: Lab, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if NAME in {m["name"] for m in mlopslab_json(lab, "models", "ls")}:
            for v in mlopslab_json(lab, "models", "ls", NAME):
                if v["run_id"] == run_id:
                    return dict(mlopslab_json(lab, "models", "show", f"{NAME}@{v['version']}"))
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} was not registered")


def checks_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['gate']}.{c['name']}": c for c in report["checks"]}


def test_a_clearly_better_candidate_trained_with_another_seed_is_promoted(
        lab: Lab, versions: dict[str, dict[str, Any]]) -> None:
    """The champion is scored on rows it never saw, so it cannot look better than it is."""
    tree, forest = versions["tree"]["version"], versions["forest"]["version"]
    assert (tree["version"], forest["version"]) == (1, 2)
    mlopslab(lab, "promote", f"{NAME}@1", "--force", "--reason", "first champion")
    done = mlopslab(lab, "promote", f"{NAME}@2", "--json", check=False)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["promoted"], result["report"]["failed"]
    report = result["report"]
    assert report["evaluation"]["set"] == 1 and report["holdout_data"] == tree["holdout_data"]
    checks = checks_of(report)
    assert checks["evaluation.candidate_unseen"]["value"] == 0
    assert checks["evaluation.champion_unseen"]["value"] == 0
    versus = checks["regression.accuracy:vs_champion"]
    # the champion's value is shown beside the candidate's, and it is its unseen-data score
    assert versus["detail"]["champion_value"] == pytest.approx(tree["scores"]["accuracy"])
    assert versus["value"] > versus["detail"]["champion_value"] + 0.02
    text = mlopslab(lab, "gate", f"{NAME}@2", check=False).stdout
    assert "evaluation set 1" in text


def test_the_holdout_does_not_depend_on_the_seed(versions: dict[str, dict[str, Any]]) -> None:
    holdouts = {v["version"]["holdout_data"] for v in versions.values()}
    assert len(holdouts) == 1


def test_a_runs_metrics_are_its_versions_scores(versions: dict[str, dict[str, Any]]) -> None:
    """One model, one accuracy: the recipe scores the exported ONNX model as the registry does."""
    for made in versions.values():
        run_metrics, scores = made["run"]["metrics"], made["version"]["scores"]
        for key in ("accuracy", "f1", "roc_auc"):
            assert run_metrics[key] == pytest.approx(scores[key], abs=1e-12), (key, made["run"]["params"])


def test_a_leaked_comparison_is_refused_naming_the_overlap(
        lab: Lab, versions: dict[str, dict[str, Any]]) -> None:
    data = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    done = mlopslab(lab, "gate", f"{NAME}@3", "--data", str(data), "--json", check=False)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert {"evaluation.candidate_unseen", "evaluation.champion_unseen",
            "regression.accuracy:vs_champion"} <= set(report["failed"])
    checks = checks_of(report)
    assert checks["evaluation.candidate_unseen"]["value"] == 569 - 142
    assert "not compared" in checks["regression.accuracy:vs_champion"]["detail"]["error"]
    text = mlopslab(lab, "gate", f"{NAME}@3", "--data", str(data), check=False).stdout
    assert f"{NAME}@3 trained on 427 of the 569 evaluation rows" in text
    assert f"{NAME}@2 trained on 427 of the 569 evaluation rows" in text
    # promotion never rests on a report made on other data than the evaluation set in force
    done = mlopslab(lab, "promote", f"{NAME}@3", "--json", check=False)
    result = json.loads(done.stdout)
    assert result["report"]["evaluation"]["set"] == 1
    assert "evaluation.candidate_unseen" not in result["report"]["failed"]


def test_a_new_evaluation_set_is_versioned_and_in_lineage(
        lab: Lab, versions: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    holdout = lab.artifact_path(versions["forest"]["version"]["holdout_sha256"]).read_text().splitlines()
    subset = tmp_path / "eval.csv"
    subset.write_text("\n".join(holdout[:101]) + "\n")  # header + 100 unseen rows
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("just one line\n")
    done = mlopslab(lab, "models", "eval-set", NAME, "--data", str(unlabelled), check=False)
    assert done.returncode == 1 and "needs rows and the target column 'target'" in done.stderr
    assert len(done.stderr.splitlines()) == 2 and done.stderr.splitlines()[1].startswith("hint: ")
    made = mlopslab_json(lab, "models", "eval-set", NAME, "--data", str(subset), "--reason", "smaller")
    assert made["version"] == 2 and made["rows"] == 100
    sets = mlopslab_json(lab, "models", "eval-set", NAME)
    assert [s["version"] for s in sets] == [2, 1]
    done = mlopslab(lab, "gate", f"{NAME}@3", "--json", check=False)
    report = json.loads(done.stdout)
    assert report["evaluation"]["set"] == 2 and report["info"]["rows"] == 100
    assert "evaluation.candidate_unseen" not in report["failed"]
    graph = mlopslab_json(lab, "lineage", f"gate:{report['id']}")
    edges = {(e["source"], e["relation"]) for e in graph["upstream"]["edges"]}
    assert (f"data:{made['data']}", "evaluated on") in edges


def test_a_file_without_training_data_is_not_compared(
        lab: Lab, versions: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(lab.artifact_path(versions["readme"]["version"]["sha256"]).read_bytes())
    holdout = tmp_path / "holdout.csv"
    holdout.write_bytes(lab.artifact_path(versions["readme"]["version"]["holdout_sha256"]).read_bytes())
    version = mlopslab_json(lab, "models", "register", "--file", str(model), "--name", NAME,
                            "--data", str(holdout), "--target", "target", "--sensitive", "group")
    done = mlopslab(lab, "gate", f"{NAME}@{version['version']}", "--json", check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 1 and "evaluation.candidate_unseen" in report["failed"]
    assert "without --train-data" in checks_of(report)["evaluation.candidate_unseen"]["detail"]["error"]
