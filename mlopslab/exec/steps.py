"""Executing one step inside a Ray worker: import, seed, capture, call, pickle.

`execute_step` is a plain function; the runner wraps it with `ray.remote` and the
step's resources. It imports the step module afresh from the recipe folder (Ray
reuses worker processes across runs and recipes), seeds python, numpy and torch,
tees stdout, stderr and logging into the run's logs, and returns the pickled
output with a record of what the step logged.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import random
import sys
import traceback
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mlopslab.client import LabClient
from mlopslab.core.errors import MlopslabError, RecipeError
from mlopslab.core.hashing import sha256_bytes
from mlopslab.core.run import RunResources
from mlopslab.core.runs import run_update
from mlopslab.exec import gpu_limits
from mlopslab.exec.context import EventSink, LineTee, RunContext, SinkHandler
from mlopslab.lab import Lab


def execute_step(spec: dict[str, Any], inputs: dict[str, bytes]) -> tuple[bytes, dict[str, Any]]:
    lab = Lab(Path(spec["lab"]))
    with LabClient(lab) as client, _on_path(Path(spec["recipe_path"])):
        sink = EventSink(client, spec["run_id"])
        sink.send([run_update(spec["run_id"], worker_pid=os.getpid(), **_assigned_gpus(spec))])
        try:
            with _captured(sink):
                _limit_gpu_memory(spec["resources"])
                ctx, output = _call(spec, lab, sink, inputs)
        finally:
            sink.close()
    ctx.record.output_sha256 = sha256_bytes(output)
    ctx.record.gpu_ids = ctx.gpu_ids
    return output, ctx.record.__dict__


def _assigned_gpus(spec: dict[str, Any]) -> dict[str, Any]:
    """The GPUs Ray gave this step, recorded as it starts (also for runs that never end well)."""
    if not spec["resources"].gpus:
        return {}
    return {"gpu_ids": gpu_ids()}


def _limit_gpu_memory(resources: RunResources) -> None:
    if not resources.gpus:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    print(f"mlopslab: GPUs {gpu_ids() or 'none'} (CUDA_VISIBLE_DEVICES={visible!r})")
    for line in gpu_limits.apply(resources):
        print(f"mlopslab: GPU memory limit: {line}")


def _call(spec: dict[str, Any], lab: Lab, sink: EventSink,
          inputs: dict[str, bytes]) -> tuple[RunContext, bytes]:
    try:
        seed_everything(spec["seed"])
        function = load_function(spec["function"], Path(spec["recipe_path"]))
        ctx = _context(spec, lab, sink, {k: pickle.loads(v) for k, v in inputs.items()})
        return ctx, pickle.dumps(function(ctx), protocol=5)
    except MlopslabError as e:  # mlopslab's own message says it all: no traceback
        print(f"error: {e.message}" + (f"\nhint: {e.hint}" if e.hint else ""), file=sys.stderr)
        raise
    except BaseException as e:
        print(user_traceback(e, Path(spec["recipe_path"])), file=sys.stderr, end="")
        raise


def user_traceback(error: BaseException, recipe_dir: Path) -> str:
    """The traceback of `error` from the recipe's first frame on: mlopslab's frames that
    called the step are left out (all frames stay when none is the recipe's)."""
    report = traceback.TracebackException.from_exception(error)
    folder = recipe_dir.resolve()
    first = next((i for i, frame in enumerate(report.stack)
                  if folder in Path(frame.filename).resolve().parents), 0)
    report.stack = traceback.StackSummary.from_list(report.stack[first:])
    return "".join(report.format())


def _context(spec: dict[str, Any], lab: Lab, sink: EventSink, inputs: dict[str, Any]) -> RunContext:
    workdir = lab.run_dir(spec["run_id"]) / "steps" / spec["step"]
    workdir.mkdir(parents=True, exist_ok=True)
    return RunContext(
        run_id=spec["run_id"], step=spec["step"], params=spec["params"], seed=spec["seed"],
        data={k: Path(v) for k, v in spec["data"].items()}, inputs=inputs, workdir=workdir,
        gpu_ids=gpu_ids(), model_name=spec["model_name"], sink=sink,
        artifact_root=lab.artifacts, resources=spec["resources"],
    )


def gpu_ids() -> list[Any]:
    """The GPUs Ray gave this task (none outside Ray)."""
    try:
        import ray

        return list(ray.get_gpu_ids())
    except Exception:  # noqa: BLE001 - outside Ray: no GPUs assigned
        return []


def seed_everything(seed: int) -> None:
    """Seed python, numpy and (when installed) torch with the run's seed."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed % 2**32)
    if find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)


def load_function(ref: str, recipe_dir: Path) -> Any:
    """`module:function` from the recipe folder, importing the module afresh.

    A module or function that is not there is a RecipeError naming the step's
    `function`; an error inside the module (a SyntaxError, say) is the recipe's own."""
    module_name, _, function_name = ref.partition(":")
    _forget(module_name)
    where = f"{recipe_dir / 'recipe.toml'}: function = '{ref}'"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # the module imports something that is missing: its own error
        raise RecipeError(f"{where}: no module '{module_name}' in {recipe_dir}",
                          "a step's function is MODULE:FUNCTION of a .py file in the recipe folder") from None
    origin = Path(getattr(module, "__file__", "") or "").resolve()
    if recipe_dir.resolve() not in origin.parents:
        raise RecipeError(f"{where}: module '{module_name}' resolved to {origin}, outside "
                          f"{recipe_dir}", "rename the module: another one of that name comes first")
    function = getattr(module, function_name, None)
    if not callable(function):
        found = sorted(n for n, v in vars(module).items()
                       if callable(v) and not n.startswith("_") and getattr(v, "__module__", "") == module.__name__)
        raise RecipeError(f"{where}: {origin.name} has no function '{function_name}'",
                          f"its functions: {', '.join(found) or '(none)'}")
    return function


def _forget(module_name: str) -> None:
    parts = module_name.split(".")
    for i in range(len(parts), 0, -1):
        sys.modules.pop(".".join(parts[:i]), None)
    importlib.invalidate_caches()


@contextlib.contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


@contextlib.contextmanager
def _captured(sink: EventSink) -> Iterator[None]:
    out, err = sys.stdout, sys.stderr
    handler = SinkHandler(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    sys.stdout, sys.stderr = LineTee(sink, "stdout", out), LineTee(sink, "stderr", err)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err
        root.removeHandler(handler)
