"""Every error of `models`, `gate`, `promote` and `lineage` is one line, a hint and the
documented exit code (2 bad input, 7 not found), never a traceback or click's usage
block. Real CLI and lab service, one real run of the bundled recipe registered as
version 1 of `breast-cancer`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import daemon
from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json

pytestmark = pytest.mark.ray
NAME = "breast-cancer"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    the_lab = init_lab(tmp_path_factory.mktemp("errors") / "lab", "err", ray_address=ray_cluster.address)
    run = mlopslab_json(the_lab, "run", "recipes/tabular-classifier", "--set", "n_estimators=5")
    assert run["status"] == "finished", run
    assert mlopslab_json(the_lab, "models", "register", run["id"], "--name", NAME)["version"] == 1
    yield the_lab
    daemon.stop(the_lab, stop_ray=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("inputs")
    made = {"bad_toml": "[gates\n", "bad_gates": "[gates.regression.accuracy]\nmin = 'x'\n",
            "other_gates": "[models.other.regression.accuracy]\nmin = 0.5\n"}
    for name, text in made.items():
        (folder / f"{name}.toml").write_text(text)
    return {name: str(folder / f"{name}.toml") for name in made} | {"missing": str(folder / "nope.csv")}


def fails(lab: Lab, *args: str, code: int) -> tuple[str, str]:
    """Run a command that must fail: (its error line, its hint line)."""
    done = mlopslab(lab, *args, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stderr}"
    assert "Traceback" not in done.stderr and "Usage:" not in done.stderr, done.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), \
        f"{args}:\n{done.stderr}"
    return lines[0].removeprefix("error: "), lines[1].removeprefix("hint: ")


@pytest.mark.parametrize("args", [
    ("gate", "nosuch@1"), ("promote", "nosuch@1"), ("models", "show", "nosuch@1"),
    ("models", "show", "nosuch:champion"), ("models", "alias", "set", "nosuch@1", "staging"),
    ("models", "alias", "rm", "nosuch", "staging"), ("models", "history", "nosuch"),
    ("models", "ls", "nosuch"), ("lineage", "model:nosuch@2"), ("lineage", "nosuch:bar"),
    ("models", "download", "nosuch@1"), ("models", "eval-set", "nosuch"),
    ("artifacts", "ls", "nosuch@1"),
])
def test_an_unknown_model_is_named_with_the_models_there_are(lab: Lab, args: tuple[str, ...]) -> None:
    error, hint = fails(lab, *args, code=7)
    assert error == "no model 'nosuch'"
    assert NAME in hint


def test_alias_set_champion_points_to_promote_not_a_missing_force(lab: Lab) -> None:
    error, hint = fails(lab, "models", "alias", "set", f"{NAME}@1", "champion", code=2)
    assert "promote" in error
    assert f"mlopslab promote {NAME}@1" in hint
    assert "alias set" not in hint and "add --force" not in hint
    help_text = mlopslab(lab, "models", "alias", "set", "-h").stdout
    assert "--force" not in help_text  # so the hint must not suggest it
    error, hint = fails(lab, "models", "alias", "rm", NAME, "champion", code=2)
    assert "promote" in hint


@pytest.mark.parametrize(("args", "code", "in_error", "in_hint"), [
    (("models", "show", "bad ref!"), 2, "not a model reference", "NAME@VERSION"),
    (("models", "show", f"{NAME}@9"), 7, "no version 9", f"models ls {NAME}"),
    (("models", "show", f"{NAME}:nope"), 7, "no alias 'nope'", "candidate"),
    (("models", "alias", "rm", NAME, "nope"), 7, "no alias 'nope'", "candidate"),
    (("models", "alias", "set", f"{NAME}@1", "Bad!"), 2, "not a valid alias", "letter"),
    (("models", "history", NAME, "--alias", "nope"), 7, "never had an alias 'nope'", "candidate"),
    (("models", "history", NAME, "--at", "banana"), 2, "'banana' is not a time", "yesterday"),
    (("models", "register"), 2, "RUN_ID", "runs ls"),
    (("models", "register", "--file", "m.onnx"), 2, "missing: --name, --data, --target", "--target"),
    (("models", "register", "nosuchrun"), 7, "no run 'nosuchrun'", "runs ls"),
    (("models", "register", "--file", "{missing}", "--name", "x", "--data", "{missing}",
      "--target", "t"), 2, "--file", "existing file"),
    (("gate", f"{NAME}@1", "--data", "{missing}"), 2, "--data", "existing file"),
    (("gate", f"{NAME}@1", "--gates", "{missing}"), 2, "--gates", "existing file"),
    (("gate", f"{NAME}@1", "--gates", "{bad_gates}"), 2, "bad gates", "docs/registry.md"),
    (("promote", f"{NAME}@1", "--gates", "{bad_toml}"), 2, "cannot read gates", "docs/registry.md"),
    (("gate", f"{NAME}@1", "--gates", "{other_gates}"), 7, "no gates for model", f"[models.{NAME}]"),
    (("promote", f"{NAME}@1", "--force"), 2, "--force needs --reason", "--reason"),
    (("promote", f"{NAME}@1", "--gates", "{missing}"), 2, "--gates", "existing file"),
    (("lineage", "run:nosuch"), 7, "no run 'nosuch'", "runs ls"),
    (("lineage", "deployment:nosuch"), 7, "no deployment 'nosuch'", "deployments ls"),
    (("lineage", "data:nosuch"), 7, "no data version", "data:sha256:"),
    (("lineage", "gate:nosuch"), 7, "no gate report 'nosuch'", "models show"),
    (("lineage", "dataset:x"), 7, "no model 'dataset'", "run:, data:"),
])
def test_each_error_is_one_line_a_hint_and_its_exit_code(
        lab: Lab, files: dict[str, str], args: tuple[str, ...], code: int, in_error: str,
        in_hint: str) -> None:
    error, hint = fails(lab, *(a.format(**files) for a in args), code=code)
    assert in_error in error and in_hint in hint


def test_history_at_takes_relative_times_and_iso_dates(lab: Lab) -> None:
    mlopslab(lab, "promote", f"{NAME}@1", "--force", "--reason", "first champion")

    def champion_at(when: str) -> Any:
        return mlopslab_json(lab, "models", "history", NAME, "--at", when)["version"]

    assert champion_at("now") == 1
    assert champion_at("2099-01-01") == 1
    for before in ("yesterday", "2h", "3d ago", "1h30m ago", "2020-01-01", "2020-01-01T12:00"):
        assert champion_at(before) is None, before
    text = mlopslab(lab, "models", "history", NAME, "--at", "yesterday").stdout
    assert text.startswith(f"{NAME}:champion at yesterday (") and "pointed at no version" in text


def test_files_inputs_are_checked_before_the_service_sees_them(lab: Lab, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    error, _ = fails(lab, "gate", f"{NAME}@1", "--data", str(folder), code=2)
    assert "is a folder" in error


def test_a_run_whose_recipe_names_no_model_asks_for_a_name(lab: Lab) -> None:
    recipe = lab.root / "recipes" / "unnamed"
    shutil.copytree(lab.root / "recipes" / "tabular-classifier", recipe)
    toml = recipe / "recipe.toml"
    toml.write_text("\n".join(line for line in toml.read_text().splitlines()
                              if not line.startswith("register_as")))
    run = mlopslab_json(lab, "run", str(recipe), "--set", "n_estimators=3")
    error, hint = fails(lab, "models", "register", run["id"], code=2)
    assert error == "no model name given" and "--name" in hint
