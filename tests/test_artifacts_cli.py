"""Getting files out of a lab: `artifacts ls|get` and `models download`, through the
real CLI and lab service, on a real run of the bundled recipe. Also: a rejected
`models register --file` leaves the artifact store as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json, module_lab

pytestmark = pytest.mark.ray
NAME = "breast-cancer"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    yield from module_lab(tmp_path_factory, ray_cluster, "artifacts")


@pytest.fixture(scope="module")
def run(lab: Lab) -> dict[str, Any]:
    result = mlopslab_json(lab, "run", "recipes/tabular-classifier", "--set", "n_estimators=5")
    assert result["status"] == "finished", result
    mlopslab_json(lab, "models", "register", result["id"], "--name", NAME)
    return mlopslab_json(lab, "runs", "show", result["id"])  # type: ignore[no-any-return]


def stored(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in run["artifacts"] if a["path"] == name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_files(lab: Lab) -> list[str]:
    return sorted(str(p.relative_to(lab.artifacts)) for p in lab.artifacts.rglob("*") if p.is_file())


def one_line_error(done: Any, code: int) -> tuple[str, str]:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), done.stderr
    return lines[0], lines[1]


def test_ls_lists_a_runs_artifacts_and_a_versions(lab: Lab, run: dict[str, Any]) -> None:
    listed = mlopslab_json(lab, "artifacts", "ls", run["id"])
    assert {(a["name"], a["kind"], a["sha256"], a["size"], a["stored"]) for a in listed} == {
        (a["path"], a["kind"], a["sha256"], a["size"], True) for a in run["artifacts"]}
    text = mlopslab(lab, "artifacts", "ls", f"run:{run['id']}").stdout
    assert stored(run, "model.onnx")["sha256"] in text  # whole, never cut

    version = mlopslab_json(lab, "artifacts", "ls", f"{NAME}@1")
    holdout = stored(run, "holdout.csv")["sha256"]
    assert [(a["name"], a["kind"], a["sha256"]) for a in version] == [
        ("model.onnx", "model", stored(run, "model.onnx")["sha256"]),
        ("holdout.csv", "holdout", holdout),
        ("evaluation-set-1.csv", "evaluation", holdout)]  # the first version's holdout
    assert version[0]["source"] == f"model:{NAME}@1"


def test_a_file_registered_version_lists_its_own_files(lab: Lab, run: dict[str, Any],
                                                       tmp_path: Path) -> None:
    model, data, train = tmp_path / "mine.onnx", tmp_path / "eval.csv", tmp_path / "train.csv"
    model.write_bytes(lab.artifact_path(stored(run, "model.onnx")["sha256"]).read_bytes())
    data.write_bytes(lab.artifact_path(stored(run, "holdout.csv")["sha256"]).read_bytes())
    train.write_text(data.read_text().replace("1", "2"))
    version = mlopslab_json(lab, "models", "register", "--file", str(model), "--name", "filed",
                            "--data", str(data), "--target", "target", "--sensitive", "group",
                            "--train-data", str(train))
    listed = mlopslab_json(lab, "artifacts", "ls", f"filed@{version['version']}")
    assert [(a["name"], a["kind"]) for a in listed] == [
        ("mine.onnx", "model"), ("eval.csv", "holdout"), ("train.csv", "train"),
        ("evaluation-set-1.csv", "evaluation")]
    assert {a["sha256"] for a in listed if a["kind"] == "train"} == {sha256(train)}
    got = mlopslab_json(lab, "artifacts", "get", "model:filed", "train", "-o", str(tmp_path / "out"))
    assert Path(got["path"]).read_bytes() == train.read_bytes()


def test_get_writes_the_file_whole_and_says_where(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    done = mlopslab(lab, "artifacts", "get", run["id"], "holdout.csv", "-o", str(tmp_path / "h.csv"))
    assert sha256(tmp_path / "h.csv") == stored(run, "holdout.csv")["sha256"]
    assert f"wrote {tmp_path / 'h.csv'}" in done.stdout and "verified" in done.stdout

    got = mlopslab_json(lab, "artifacts", "get", run["id"], "-o", str(tmp_path))  # no NAME: the model
    assert got["path"] == str(tmp_path / "model.onnx") and got["verified"]
    assert sha256(tmp_path / "model.onnx") == stored(run, "model.onnx")["sha256"] == got["sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left

    by_kind = mlopslab_json(lab, "artifacts", "get", f"{NAME}:candidate", "holdout",
                            "-o", str(tmp_path / "sub" / "holdout.csv"))
    assert sha256(Path(by_kind["path"])) == stored(run, "holdout.csv")["sha256"]

    piped = mlopslab(lab, "artifacts", "get", run["id"], "holdout.csv", "-o", "-")
    assert piped.stdout == (tmp_path / "h.csv").read_text()


def test_get_never_overwrites_without_force(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_text("mine")
    error, hint = one_line_error(
        mlopslab(lab, "artifacts", "get", run["id"], "model.onnx", "-o", str(target), check=False), 2)
    assert str(target) in error and "--force" in hint
    assert target.read_text() == "mine"
    mlopslab(lab, "artifacts", "get", run["id"], "model.onnx", "-o", str(target), "--force")
    assert sha256(target) == stored(run, "model.onnx")["sha256"]


def test_models_download_writes_the_onnx_file(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    got = mlopslab_json(lab, "models", "download", f"{NAME}@1", "-o", str(tmp_path))
    assert got["path"] == str(tmp_path / f"{NAME}-v1.onnx")
    assert sha256(tmp_path / f"{NAME}-v1.onnx") == stored(run, "model.onnx")["sha256"]
    one_line_error(mlopslab(lab, "models", "download", f"{NAME}@1", "-o", str(tmp_path), check=False), 2)


def test_unknown_sources_and_names_are_one_line_errors(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    error, hint = one_line_error(mlopslab(lab, "artifacts", "get", "nosuch", check=False), 7)
    assert "no run or model 'nosuch'" in error
    error, hint = one_line_error(
        mlopslab(lab, "artifacts", "get", run["id"], "nope.csv", "-o", str(tmp_path), check=False), 7)
    assert "holdout.csv" in hint and "model.onnx" in hint
    error, hint = one_line_error(mlopslab(lab, "artifacts", "ls", "nosuch@1", check=False), 7)
    assert error == "error: no model 'nosuch'" and NAME in hint


def test_an_unwritable_destination_is_one_line(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    error, hint = one_line_error(mlopslab(lab, "artifacts", "get", run["id"], "-o",
                                          str(tmp_path / "a-file" / "model.onnx"), check=False), 1)
    assert "cannot write" in error and "-o" in hint


def test_a_damaged_artifact_is_refused(lab: Lab, run: dict[str, Any], tmp_path: Path) -> None:
    digest = stored(run, "holdout.csv")["sha256"]
    path = lab.artifact_path(digest)
    good = path.read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(good.replace(b"1", b"2", 1))
    try:
        error, _ = one_line_error(mlopslab(lab, "artifacts", "get", run["id"], "holdout.csv",
                                           "-o", str(tmp_path / "h.csv"), check=False), 4)
        assert "damaged" in error
        assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left
    finally:
        path.write_bytes(good)
        os.chmod(path, 0o444)


def test_a_rejected_register_leaves_the_artifact_store_unchanged(lab: Lab, run: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("a,b,target\n1,2,0\n3,4,1\n")
    not_onnx = tmp_path / "passwd"
    not_onnx.write_text("root:x:0:0:root:/root:/bin/bash\n")
    model = tmp_path / "model.onnx"  # loads, but takes 30 features, not 2
    model.write_bytes(lab.artifact_path(stored(run, "model.onnx")["sha256"]).read_bytes())
    before = store_files(lab)

    def register(path: Path) -> Any:
        return mlopslab(lab, "models", "register", "--file", str(path), "--name", "other",
                        "--data", str(holdout), "--target", "target", check=False)

    not_loading, not_fitting = register(not_onnx), register(model)
    other_data = mlopslab(lab, "models", "register", run["id"], "--name", "other", "--data",
                          str(holdout), "--target", "target", check=False)
    assert store_files(lab) == before
    one_line_error(other_data, 1)
    error, hint = one_line_error(not_loading, 1)
    assert "does not load" in error and "ONNX" in hint
    error, _ = one_line_error(not_fitting, 1)
    assert "cannot evaluate" in error
    assert "other" not in {m["name"] for m in json.loads(mlopslab(lab, "models", "ls", "--json").stdout)}
