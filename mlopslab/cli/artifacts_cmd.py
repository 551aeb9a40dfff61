"""`mlopslab artifacts ls|get` and `mlopslab models download`: files out of the lab.

A run's artifacts are the files its steps saved; a model version's are its ONNX
model, its holdout data, (for a file registered with --train-data) its training
data and the model's evaluation set in force (`models eval-set`). Each lives in
the lab's content-addressed artifact store under its sha256, which is checked
again on the way out.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from mlopslab.cli import cli, client_of, lab_of
from mlopslab.cli.models_cmd import JSON, InputError, models
from mlopslab.core.errors import MlopslabError, NotFound
from mlopslab.core.model_versions import ModelVersion
from mlopslab.core.registry import EvaluationSet
from mlopslab.core.run import Run

STDOUT = "-"


@dataclass(frozen=True)
class Artifact:
    """One file of a run or a model version, as the artifact store holds it."""

    name: str
    kind: str | None  # model, holdout, train, evaluation; what a run's step said it is
    sha256: str
    size: int | None
    source: str  # run:ID or model:NAME@N
    step: str | None = None


@cli.group()
def artifacts() -> None:
    """Files that runs saved and model versions carry, out of the lab's artifact store."""


@artifacts.command("ls")
@click.argument("source", metavar="RUN|MODEL_REF")
@JSON
@click.pass_context
def ls(ctx: click.Context, source: str, as_json: bool) -> None:
    """The artifacts of a run (ID, run:ID) or a model version (NAME@N, NAME:ALIAS, model:...)."""
    from mlopslab.cli.output import print_json

    found = artifacts_of(ctx, source)
    store = lab_of(ctx).artifacts
    if as_json:
        print_json([{**asdict(a), "path": a.name, "stored": _path(store, a.sha256).is_file()}
                    for a in found])
    elif not found:
        click.echo(f"{source} has no artifacts")
    else:
        rows = [("NAME", "KIND", "SIZE", "STEP", "SHA256")] + [
            (a.name, a.kind or "-", _size(a.size), a.step or "-",
             a.sha256 + ("" if _path(store, a.sha256).is_file() else "  (missing from the store)"))
            for a in found]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            click.echo("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[4]]))


@artifacts.command("get")
@click.argument("source", metavar="RUN|MODEL_REF")
@click.argument("name", required=False)
@click.option("-o", "--output", metavar="PATH",
              help="File or folder to write to (default: NAME's file name, here); - for stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@JSON
@click.pass_context
def get(ctx: click.Context, source: str, name: str | None, output: str | None, force: bool,
        as_json: bool) -> None:
    """Write artifact NAME of a run or a model version to a file, its sha256 checked.

    NAME is an artifact's name or file name, or a kind (model, holdout, train, evaluation); without
    it, the model (of a model version, or of a run that saved one).
    """
    found = artifacts_of(ctx, source)
    chosen = pick(found, name, source)
    _write(ctx, chosen, output, Path(chosen.name).name, force, as_json)


@models.command("download")
@click.argument("ref")
@click.option("-o", "--output", metavar="PATH",
              help="File or folder to write to (default: NAME-vN.onnx, here); - for stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@JSON
@click.pass_context
def download(ctx: click.Context, ref: str, output: str | None, force: bool, as_json: bool) -> None:
    """Write the ONNX file of model version REF (NAME@N, NAME:ALIAS, NAME), its sha256 checked."""
    version = client_of(ctx).models.version(ref=ref)
    chosen = _model_artifacts(version, {})[0]
    _write(ctx, chosen, output, f"{version.name}-v{version.version}.onnx", force, as_json)


# what a source holds ------------------------------------------------------


def artifacts_of(ctx: click.Context, text: str) -> list[Artifact]:
    """The artifacts of `text`: `run:ID`, `model:REF`, a model ref with @ or :, else a
    model name if there is such a model, else a run id (or its prefix or suffix)."""
    kind, sep, key = text.partition(":")
    if sep and kind == "run":
        return _run_artifacts(client_of(ctx).runs.get(run_id=key))
    if sep or "@" in text:
        return _version_artifacts(ctx, client_of(ctx).models.version(ref=text))
    if text in {m.name for m in client_of(ctx).models.list()}:
        return _version_artifacts(ctx, client_of(ctx).models.version(ref=text))
    try:
        return _run_artifacts(client_of(ctx).runs.get(run_id=text))
    except NotFound as e:
        if not e.message.startswith("no run"):
            raise
        raise NotFound(f"no run or model '{text}'", "list runs with `mlopslab runs ls`, "
                       "models with `mlopslab models ls`") from None


def _run_artifacts(run: Run) -> list[Artifact]:
    return [Artifact(a.path, a.kind, a.sha256, a.size, f"run:{run.id}", a.step)
            for a in run.artifacts or ()]


def _version_artifacts(ctx: click.Context, version: ModelVersion) -> list[Artifact]:
    run_names: dict[str, str] = {}
    if version.run_id:
        run = client_of(ctx).runs.get(run_id=version.run_id)
        run_names = {a.sha256: a.path for a in run.artifacts or ()}
    store = lab_of(ctx).artifacts
    sets = client_of(ctx).models.evaluation_sets(name=version.name)
    found = _model_artifacts(version, run_names, store, sets[0] if sets else None)
    return [a for a in found if a.kind == "model" or _path(store, a.sha256).is_file()]


def _model_artifacts(version: ModelVersion, run_names: dict[str, str], store: Path | None = None,
                     evaluation: EvaluationSet | None = None) -> list[Artifact]:
    """The model, then its holdout and training data where the version names them, then
    the evaluation set in force."""
    info = version.info
    source = f"model:{version.ref}"

    def data(kind: str, sha: str, name: str | None = None, stem: str | None = None) -> Artifact:
        """Named `name`, else `stem` (default: the kind) and .csv or .parquet."""
        stored = _path(store, sha) if store else None
        size = stored.stat().st_size if stored and stored.is_file() else None
        return Artifact(name or (stem or kind) + _data_suffix(stored), kind, sha, size, source)

    found = [Artifact(run_names.get(version.sha256) or Path(info.file or "model.onnx").name,
                      "model", version.sha256, version.size, source)]
    holdout = version.holdout_sha256
    if holdout:
        given = info.data
        found.append(data("holdout", holdout, run_names.get(holdout) or (Path(given).name if given else None)))
    train = str(version.train_data or "").removeprefix("sha256:")
    if info.train_data_given and train and train != holdout:
        found.append(data("train", train, run_names.get(train)))
    if evaluation:
        found.append(data("evaluation", evaluation.sha256, stem=f"evaluation-set-{evaluation.version}"))
    return found


def _data_suffix(stored: Path | None) -> str:
    """.parquet or .csv, by the file's first bytes (as the registry reads data)."""
    if stored is None or not stored.is_file():
        return ""
    with open(stored, "rb") as f:
        return ".parquet" if f.read(4) == b"PAR1" else ".csv"


def pick(found: list[Artifact], name: str | None, source: str) -> Artifact:
    """The artifact NAME names (a name, a file name or a kind), or the one model."""
    names = ", ".join(a.name for a in found) or "none"
    if name is None:
        chosen = [a for a in found if a.kind == "model"] or (found if len(found) == 1 else [])
        if len(chosen) != 1:
            raise InputError(f"{source} has {len(found)} artifacts: say which one to get",
                             f"its artifacts: {names}")
        return chosen[0]
    for match in (lambda a: a.name == name, lambda a: Path(a.name).name == name,
                  lambda a: a.kind == name):
        chosen = [a for a in found if match(a)]
        if len(chosen) == 1:
            return chosen[0]
        if chosen:
            raise InputError(f"'{name}' names {len(chosen)} artifacts of {source}",
                             f"give the whole name: {', '.join(a.name for a in chosen)}")
    raise NotFound(f"{source} has no artifact '{name}'", f"its artifacts: {names}")


# writing ------------------------------------------------------------------


def _write(ctx: click.Context, artifact: Artifact, output: str | None, default: str, force: bool,
           as_json: bool) -> None:
    from mlopslab.artifacts import copy_out, verified
    from mlopslab.cli.output import print_json

    store = lab_of(ctx).artifacts
    if output == STDOUT:
        with open(verified(store, artifact.sha256), "rb") as f, contextlib.suppress(BrokenPipeError):
            shutil.copyfileobj(f, sys.stdout.buffer)
        return
    dest = _destination(output, default)
    try:
        size = copy_out(store, artifact.sha256, dest, overwrite=force)
    except FileExistsError:
        raise InputError(f"{dest} exists; not overwritten",
                         "add --force to overwrite it, or -o another path") from None
    except OSError as e:
        raise MlopslabError(f"cannot write {dest}: {e.strerror or e}",
                            "-o a path in a folder you can write to") from None
    if as_json:
        print_json({**asdict(artifact), "size": size, "path": str(dest), "verified": True})
        return
    click.echo(f"wrote {dest}  ({artifact.name} of {artifact.source}, "
               f"{_size(size)}, sha256:{artifact.sha256[:12]} verified)")


def _destination(output: str | None, default: str) -> Path:
    """`-o PATH`: a folder gets the default file name inside it; no -o: here."""
    if not output:
        return Path.cwd() / default
    path = Path(output).expanduser().absolute()
    return path / default if path.is_dir() or output.endswith(("/", "\\")) else path


def _path(store: Path, sha256: str) -> Path:
    from mlopslab.artifacts import path_of

    return path_of(store, sha256)


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
