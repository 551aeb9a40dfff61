"""What a model version carries, gathered and checked before it is registered.

From a run: its model artifact, its holdout artifact (`[model].holdout`), its
data version, dependency versions and recipe gates. From a file: the ONNX file
and holdout data given by the user. Either way the model is loaded and scored on
the holdout with ONNX Runtime, and its feature schema read from the graph; a
version that lacks any of this is refused.
"""

from __future__ import annotations

import platform
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import onnxruntime as ort

from mlopslab.artifacts import put_file
from mlopslab.core.errors import MlopslabError, ModelError, RegistryError
from mlopslab.core.gates import GatesSpec
from mlopslab.core.hashing import md5_file, sha256_file
from mlopslab.core.model_versions import FeatureSchema, ModelVersion, TrainingRows, UnknownTrainingRows, VersionInfo
from mlopslab.core.recipe import Recipe
from mlopslab.core.run import Run, RunArtifact, RunInput
from mlopslab.core.scoring import direction_of
from mlopslab.evaluation.evaluate import Evaluation, Holdout, evaluate
from mlopslab.evaluation.onnx_model import load, read_table
from mlopslab.evaluation.rows import training_rows
from mlopslab.lab import Lab

Existing = Callable[[str, str, str | None], ModelVersion | None]
# what registration hands the service: the version there already, or the fields of a new one
# (the payload of a ModelVersionRegistered event; the store numbers it)
Record = ModelVersion | dict[str, Any]
DEFAULT_PRIMARY = {"classification": "accuracy", "regression": "rmse"}


def store_data(lab: Lab, path: Path) -> tuple[str, str]:
    """Copy a data file into the artifact store: (data version `sha256:...`, sha256)."""
    if not path.is_file():
        raise RegistryError(f"{path}: no such data file")
    sha, _ = put_file(lab.artifacts, path)
    return f"sha256:{sha}", sha


def from_run(lab: Lab, run: Run, recipe: Recipe | None, name: str, data: str | None,
             target: str | None, existing: Existing) -> Record:
    model = _model_artifact(run, recipe)
    if found := existing(name, model.sha256, run.id):
        return found
    if data:  # evaluated from where it is, stored only once it passes
        holdout_file = Path(data)
        if not holdout_file.is_file():
            raise RegistryError(f"{data}: no such data file")
        holdout_sha = sha256_file(holdout_file)
    else:
        holdout_sha = _holdout_artifact(run, recipe)
        holdout_file = lab.artifact_path(holdout_sha)
    holdout_data = f"sha256:{holdout_sha}"
    target = target or (recipe.model.target if recipe else None)
    if not target:
        raise RegistryError(f"run {run.id}: which holdout column is the target?",
                            "declare [model].target in the recipe, or pass --target")
    if not run.data_version:
        raise RegistryError(f"run {run.id} recorded no training data version",
                            "only runs with data inputs can be registered")
    gates = recipe.gates if recipe else None
    sensitive = gates.bias.attribute if gates and gates.bias else None
    exclude = list(recipe.model.exclude) if recipe else []
    path = lab.artifact_path(model.sha256)
    result, schema, provider = _evaluate(path, holdout_file, target, exclude, sensitive)
    primary = (recipe.model.primary or recipe.evaluation.primary) if recipe else None
    primary = primary or DEFAULT_PRIMARY[result.task]
    if data:
        store_data(lab, holdout_file)
    direction = (recipe.evaluation.direction if recipe and primary == recipe.evaluation.primary
                 else direction_of(primary))
    return _version(
        name=name, sha256=model.sha256, size=model.size, source="run", run_id=run.id,
        train_data=run.data_version, holdout_data=holdout_data, holdout_sha256=holdout_sha,
        target=target, exclude=exclude, sensitive=sensitive, result=result, schema=schema,
        primary=primary, direction=direction, deps={**(run.deps or {}), **_onnx_info(path)},
        gates=gates.model_dump(mode="json") if gates else None,
        info=VersionInfo(recipe=run.recipe, run_metrics=run.metrics, provider=provider,
                         train_rows=_run_training_rows(lab, run, recipe, holdout_sha,
                                                       {target, *exclude, *([sensitive] if sensitive else [])})),
    )


def from_file(lab: Lab, path: Path, name: str, data: Path, target: str, sensitive: str | None,
              exclude: list[str], train_data: Path | None, primary: str | None,
              gates: GatesSpec | None, existing: Existing) -> Record:
    for given, what in ((path, "model"), (data, "data"), (train_data, "training data")):
        if given is not None and not given.is_file():
            raise RegistryError(f"{given}: no such {what} file")
    if found := existing(name, sha256_file(path), None):
        return found
    if gates and gates.bias and not sensitive:
        sensitive = gates.bias.attribute
    # validate before storing: a file that is refused leaves nothing in the artifact store
    result, schema, provider = _evaluate(path, data, target, exclude, sensitive)
    primary = primary or DEFAULT_PRIMARY[result.task]
    _version(result=result, schema=schema, primary=primary)  # refuses an unknown primary
    sha, size = put_file(lab.artifacts, path)
    holdout_data, holdout_sha = store_data(lab, data)
    train = store_data(lab, train_data)[0] if train_data else holdout_data
    stored = lab.artifact_path(sha)
    return _version(
        name=name, sha256=sha, size=size, source="file", run_id=None, train_data=train,
        holdout_data=holdout_data, holdout_sha256=holdout_sha, target=target, exclude=exclude,
        sensitive=sensitive, result=result, schema=schema, primary=primary,
        direction=direction_of(primary), deps={**_environment(), **_onnx_info(stored)},
        gates=gates.model_dump(mode="json") if gates else None,
        info=VersionInfo(file=str(path), data=str(data), provider=provider,
                         train_data_given=train_data is not None,
                         train_rows=_file_training_rows(lab, train_data, data,
                                                        {target, *exclude, *([sensitive] if sensitive else [])})),
    )


def _run_training_rows(lab: Lab, run: Run, recipe: Recipe | None, holdout_sha: str,
                       skip: set[str]) -> TrainingRows | UnknownTrainingRows:
    """The run's input rows minus its own holdout rows (see evaluation/rows.py)."""
    inputs = []
    for item in run.inputs or ():
        table = _input_table(item)
        if isinstance(table, str):
            return UnknownTrainingRows(table)
        inputs.append((f"{item.name}: {item.path}", table))
    own = _own_holdout(run, recipe)
    holdout = read_table(lab.artifact_path(holdout_sha))
    own_table = holdout if own == holdout_sha else read_table(lab.artifact_path(own)) if own else None
    return training_rows(lab.artifacts, inputs, own_table, skip, holdout)


def _file_training_rows(lab: Lab, train_data: Path | None, data: Path,
                        skip: set[str]) -> TrainingRows | UnknownTrainingRows:
    if train_data is None:
        return UnknownTrainingRows("registered from a file without --train-data")
    return training_rows(lab.artifacts, [(f"--train-data {train_data}", read_table(train_data))],
                         None, skip, read_table(data))


def _input_table(item: RunInput) -> Any:
    """The input file of a run as a table, if it still holds what the run read; else why not."""
    path = Path(str(item.path or ""))
    if not path.is_file():
        return f"input '{item.name}' ({path}) is no longer a file"
    algorithm, _, digest = str(item.hash or "").partition(":")
    hashers = {"sha256": sha256_file, "md5": md5_file}
    if algorithm in hashers and hashers[algorithm](path) != digest:
        return f"input '{item.name}' ({path}) changed since the run read it"
    try:
        return read_table(path)
    except MlopslabError as e:
        return f"input '{item.name}': {e.message}"


def _own_holdout(run: Run, recipe: Recipe | None) -> str | None:
    try:
        return _holdout_artifact(run, recipe)
    except RegistryError:
        return None


def _version(*, result: Evaluation, schema: FeatureSchema, primary: str, info: VersionInfo | None = None,
             **fields: Any) -> dict[str, Any]:
    """The new version's fields, as the ModelVersionRegistered event carries them (JSON)."""
    if primary not in result.scores:
        raise RegistryError(f"the primary metric '{primary}' is not one of the scores: "
                            f"{', '.join(result.scores)}")
    info = replace(info or VersionInfo(), rows=result.rows, nonfinite=result.nonfinite)
    return {"id": uuid.uuid4().hex, **fields, "task": result.task, "primary_metric": primary,
            "scores": result.scores, "groups": result.groups, "schema": schema.to_stored(),
            "info": info.to_stored()}


def _evaluate(model: Path, holdout: Path, target: str, exclude: list[str],
              sensitive: str | None) -> tuple[Evaluation, FeatureSchema, str]:
    try:
        loaded = load(model, "auto")
    except ModelError as e:
        raise RegistryError(e.message, e.hint or
                            "give an ONNX model file (e.g. exported with skl2onnx or torch.onnx.export)") from e
    try:
        result = evaluate(loaded, Holdout(read_table(holdout), target, tuple(exclude), sensitive))
    except MlopslabError as e:
        raise RegistryError(f"cannot evaluate the model on its holdout data: {e.message}", e.hint) from e
    return result, loaded.schema, loaded.provider


def _model_artifact(run: Run, recipe: Recipe | None) -> RunArtifact:
    models = [a for a in run.artifacts or () if a.kind == "model"]
    wanted = recipe.model.artifact if recipe else None
    chosen = [a for a in models if a.path == wanted] or models
    if not chosen:
        raise RegistryError(f"run {run.id} saved no model",
                            "a step must save it with ctx.save_model(...)")
    return chosen[-1]


def _holdout_artifact(run: Run, recipe: Recipe | None) -> str:
    """The run's own holdout: the recipe's [model].holdout artifact; for a run of no recipe
    (a script's), the last artifact it saved as a holdout (`log_model(holdout=...)`)."""
    wanted = recipe.model.holdout if recipe else None
    for artifact in reversed(run.artifacts or ()):
        if (wanted and artifact.path == wanted) or (recipe is None and artifact.kind == "holdout"):
            return artifact.sha256
    raise RegistryError(
        f"run {run.id} has no holdout data" + (f" (no artifact '{wanted}')" if wanted else ""),
        "declare [model].holdout (an artifact the run saves), or pass --data FILE")


def _onnx_info(path: Path) -> dict[str, Any]:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {"onnx": {
        "ir_version": proto.ir_version,
        "opset": {op.domain or "ai.onnx": op.version for op in proto.opset_import},
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "onnxruntime": ort.__version__,
    }}


def _environment() -> dict[str, Any]:
    import numpy

    return {"python": platform.python_version(),
            "packages": {"onnxruntime": ort.__version__, "numpy": numpy.__version__}}
