"""The steps of a run: data checks and provenance first, then each step on Ray,
from the cache when its inputs have not changed."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopslab.core.errors import DataValidationError, MlopslabError, RecipeError
from mlopslab.core.events import DatasetVersioned, Event, MetricsLogged, StepFinished, StepStarted
from mlopslab.core.hashing import sha256_bytes, step_key
from mlopslab.core.runs import run_update
from mlopslab.core.validation import validate_table
from mlopslab.exec import cache, provenance
from mlopslab.exec.context import artifact_event
from mlopslab.exec.outcome import StepFailed

if TYPE_CHECKING:
    from mlopslab.core.recipe import Recipe
    from mlopslab.exec.reporter import RunAttempt


@dataclass(frozen=True)
class Inputs:
    """What every step's cache key and task depend on, resolved once per run."""

    code: str  # sha256 of the recipe's code files
    data: dict[str, dict[str, Any]]  # name -> {hash, source, path, size}


def prepare_inputs(runner: RunAttempt, recipe: Recipe) -> Inputs:
    """Resolve, validate and version every data input and the code; record provenance."""
    overrides = runner.run.options.data
    paths = {name: Path(overrides.get(name) or recipe.data_path(name)) for name in recipe.data}
    for name, path in paths.items():
        if not path.exists():
            raise RecipeError(f"data input '{name}': {path} does not exist")
    _validate(recipe, paths)
    versions = {name: provenance.data_version(path) for name, path in paths.items()}
    now = time.time()
    events = [DatasetVersioned(run_id=runner.run_id, name=n, ts=now, **v)
              for n, v in versions.items()]
    code = provenance.code_hash(recipe.path)
    runner.send(*events, run_update(  # one batch: the datasets and the run's provenance
        runner.run_id, code_version=provenance.code_version(recipe.path, code),
        data_version=provenance.combined_data_version(versions),
        deps=provenance.dependencies()))
    return Inputs(code, versions)


def _validate(recipe: Recipe, paths: dict[str, Path]) -> None:
    problems = []
    for name, path in paths.items():
        spec = recipe.data[name]
        if spec.schema_ is None:
            continue
        table = _read_table(path, spec.format)
        problems += [f"{name} ({path.name}): {p}" for p in validate_table(table, spec.schema_)]
    if problems:
        raise DataValidationError("\n".join(problems), "fix the data or the recipe's schema")


def _read_table(path: Path, fmt: str) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path)


def run_steps(runner: RunAttempt, recipe: Recipe, inputs: Inputs) -> None:
    from mlopslab.exec.connect import connect

    connect(runner)
    done = {s.name: s for s in runner.run.steps or () if s.status in ("finished", "cached")}
    data = {name: v["hash"] for name, v in inputs.data.items()}
    outputs: dict[str, bytes] = {}
    hashes: dict[str, str] = {}
    gpu_ids: set[Any] = set()
    for index, step in enumerate(recipe.steps):
        upstream = recipe.upstream(index)
        key = step_key(step=step.name, code=inputs.code, params=runner.run.params or {},
                       seed=runner.run.seed or 0, data=data,  # every submitted run has one
                       upstream={u: hashes[u] for u in upstream})
        hit = None if runner.run.options.from_scratch else cache.load(runner.lab.step_cache, key)
        if hit is not None:
            output, record = hit
            _replay(runner, step.name, index, key, record, step.name in done)
        else:
            output, record = _execute(runner, recipe, index, key, inputs,
                                      {u: outputs[u] for u in upstream})
        outputs[step.name], hashes[step.name] = output, sha256_bytes(output)
        gpu_ids.update(record.gpu_ids)
    runner.send(run_update(runner.run_id, gpu_ids=sorted(gpu_ids, key=str)))


def _step_event(runner: RunAttempt, name: str, index: int, key: str, status: str,
                **extra: Any) -> StepStarted | StepFinished:
    if status == "running":
        return StepStarted(run_id=runner.run_id, name=name, idx=index, cache_key=key, **extra)
    return StepFinished(run_id=runner.run_id, name=name, idx=index, cache_key=key, status=status,
                        **extra)


def _replay(runner: RunAttempt, name: str, index: int, key: str, record: cache.StepRecord,
            already_recorded: bool) -> None:
    """A cache hit: put the step's metrics and artifacts into this run too."""
    now = time.time()
    runner.log("mlopslab", f"step {name}: cached ({key[:12]})")
    events: list[Event] = []
    if not already_recorded:
        points = [[k, s, now, v] for k, s, v in record.metrics]
        if points:
            events.append(MetricsLogged(run_id=runner.run_id, points=points))
        events += [artifact_event(runner.run_id, name, a) for a in record.artifacts]
    events.append(_step_event(runner, name, index, key, "cached", cached=True,
                              started_at=now, ended_at=now))
    runner.send(*events)


def _execute(runner: RunAttempt, recipe: Recipe, index: int, key: str, inputs: Inputs,
             upstream: dict[str, bytes]) -> tuple[bytes, cache.StepRecord]:
    from mlopslab.exec.connect import remote_step, wait_for

    step = recipe.steps[index]
    started = time.time()
    runner.log("mlopslab", f"step {step.name}: running")
    runner.send(_step_event(runner, step.name, index, key, "running", started_at=started))
    spec = _task_spec(runner, recipe, index, inputs)
    try:
        output, record_dict = wait_for(runner, remote_step(runner, recipe, spec, upstream))
    except BaseException as e:
        failure = step_failure(step.name, e)
        error = failure.summary if failure else (str(e) or type(e).__name__)
        runner.send(_step_event(runner, step.name, index, key, "failed", started_at=started,
                                ended_at=time.time(), error=error[-2000:]))
        if failure is not None:
            raise failure from None
        raise
    record = cache.StepRecord(**record_dict)
    cache.store(runner.lab.step_cache, key, output, record)
    runner.send(_step_event(runner, step.name, index, key, "finished", cached=False,
                            started_at=started, ended_at=time.time()))
    runner.log("mlopslab", f"step {step.name}: finished in {time.time() - started:.2f}s")
    return output, record


def step_failure(step: str, error: BaseException) -> StepFailed | None:
    """A step's failure inside Ray as a StepFailed of one line: the recipe's own exception
    (its traceback is in the log already) or Ray's (a worker that died, say). None for
    anything else (a time limit, a cancel)."""
    from ray.exceptions import RayError, RayTaskError

    if not isinstance(error, RayError):
        return None
    cause = error.cause if isinstance(error, RayTaskError) and isinstance(
        error.cause, BaseException) else error
    lines = [line for line in _ANSI.sub("", str(cause)).strip().splitlines() if line.strip()]
    text = (lines[-1] if isinstance(error, RayTaskError) else lines[0]) if lines else ""
    summary = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    code = None
    if isinstance(cause, MlopslabError):  # mlopslab's own, e.g. a step function not there
        summary, code = cause.message, cause.exit_code
    return StepFailed(step, summary if len(summary) < 500 else summary[:497] + "...", code)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _task_spec(runner: RunAttempt, recipe: Recipe, index: int, inputs: Inputs) -> dict[str, Any]:
    from mlopslab.exec.connect import declared

    return {
        "lab": str(runner.lab.root), "run_id": runner.run_id, "step": recipe.steps[index].name,
        "function": recipe.steps[index].function, "recipe_path": str(recipe.path),
        "params": runner.run.params or {}, "seed": runner.run.seed,
        "data": {name: version["path"] for name, version in inputs.data.items()},
        "model_name": recipe.model.artifact, "resources": declared(runner, recipe),
    }
