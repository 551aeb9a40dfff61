"""The tracking API for any Python code (docs/tracking.md):

    import mlopslab

    with mlopslab.start_run(project="vision", name="baseline", params={"lr": 0.1}) as run:
        for step in range(100):
            run.log_metric("loss", loss, step=step)
        run.log_model(model, sample_input=X[:1], register_as="digits", holdout=test_df, target="label")

A run made this way is a run like a recipe's: it shows in `runs ls`, the TUI, lineage
and the registry. It starts `running` at once in the calling process (no queue), with
the provenance a recipe run gets (the calling script's code version, its data inputs
declared with `log_input`, dependency versions, host, GPU ids, the seed given to
`mlopslab.seed`). It ends `finished`, `failed` on an exception (with the exception as
its reason), `killed` on Ctrl-C, and the lab service marks it `killed` when the
process dies without ending it.

Inside `mlopslab run SCRIPT.py` (the environment names the run: MLOPSLAB_RUN_ID) the
same calls attach to that run instead of making one; the run process ends it.

Metric points and log lines are buffered and shipped by a background thread
(exec/context.py EventSink): a `log_metric` call appends to a list and never waits
for the service.
"""

from __future__ import annotations

import atexit
import getpass
import math
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from mlopslab import artifacts
from mlopslab.client import LabClient
from mlopslab.core.errors import MlopslabError
from mlopslab.core.events import DatasetVersioned, ParamsLogged, TagsSet
from mlopslab.core.run import Run, TrackedRunSpec
from mlopslab.core.runs import ACTIVE, run_update
from mlopslab.exec import provenance
from mlopslab.exec.context import EventSink, artifact_event
from mlopslab.lab import Lab, find_lab

ENV_RUN = "MLOPSLAB_RUN_ID"
ENV_SEED = "MLOPSLAB_SEED"
STEP = "script"  # the step name artifacts of a tracked run are recorded under
REGISTER_TAGS = ("mlopslab.register_as", "mlopslab.target")

_active: TrackedRun | None = None
_seed: int | None = None
_lock = threading.Lock()
_hooks_installed = False


class TrackedRun:
    """One run, as the code that tracks itself sees it."""

    def __init__(self, lab: Lab, client: LabClient, run: Run, attached: bool) -> None:
        self.id: str = run.id
        self.lab = lab
        self.attached = attached  # inside `mlopslab run SCRIPT.py`: its run process ends it
        self._client = client
        self._sink = EventSink(client, run.id)
        self._params: dict[str, Any] = dict(run.params or {})
        self._tags: dict[str, str] = dict(run.tags or {})
        self._inputs: dict[str, dict[str, Any]] = {}
        self._counters: dict[str, int] = {}
        self.ended = False

    def __repr__(self) -> str:
        return f"TrackedRun({self.id})"

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None or (issubclass(kind, SystemExit) and not getattr(error, "code", 0)):
            self.end("finished")
        elif issubclass(kind, KeyboardInterrupt):
            self.end("killed", "interrupted (Ctrl-C)")
        else:
            self.end("failed", _summary(error))

    # what the code logs ---------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """One point of metric `key`; `step` defaults to one after the key's last."""
        number = float(value)
        if step is None:
            step = self._counters.get(key, 0)
        self._counters[key] = int(step) + 1
        self._sink.metric(key, int(step), number if math.isfinite(number) else None)

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params of the run (added to the ones it has; a key given again takes the new value)."""
        self._params.update({str(k): _plain(v) for k, v in params.items()})
        self._sink.send([ParamsLogged(run_id=self.id, params=dict(self._params)),
                         run_update(self.id, params=dict(self._params))])

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Tags of the run (strings; None removes a tag)."""
        given = {str(k): (None if v is None else str(v)) for k, v in tags.items()}
        for key, value in given.items():
            if value is None:
                self._tags.pop(key, None)
            else:
                self._tags[key] = value
        self._sink.send([TagsSet(run_id=self.id, tags=given)])

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def log_artifact(self, path: str | Path, name: str | None = None, kind: str = "artifact") -> list[str]:
        """Copy a file (or every file of a folder) into the lab's content-addressed store;
        the sha256 of each."""
        source = Path(path)
        if source.is_dir():
            base = name or source.name
            return [self.log_artifact(f, f"{base}/{f.relative_to(source).as_posix()}", kind)[0]
                    for f in sorted(source.rglob("*")) if f.is_file()]
        if not source.is_file():
            raise MlopslabError(f"log_artifact: {source} is not a file or folder")
        digest, size = artifacts.put_file(self.lab.artifacts, source)
        entry = {"name": name or source.name, "sha256": digest, "size": size, "kind": kind}
        self._sink.send([artifact_event(self.id, STEP, entry)])
        return [digest]

    def log_input(self, path: str | Path, name: str | None = None) -> str:
        """Declare a data input: its DVC md5 (when a .dvc file tracks it) or its sha256 is the
        run's data version, and the gates' leak check reads it. The hash recorded."""
        source = Path(path)
        if not source.exists():
            raise MlopslabError(f"log_input: {source} does not exist")
        version = provenance.data_version(source)
        key = name or source.stem
        self._inputs[key] = version
        self._sink.send([DatasetVersioned(run_id=self.id, name=key, ts=time.time(), **version),
                         run_update(self.id, data_version=provenance.combined_data_version(self._inputs))])
        return str(version["hash"])

    def log_model(self, model: Any, sample_input: Any = None, name: str = "model.onnx",
                  register_as: str | None = None, holdout: Any = None, target: str | None = None) -> str:
        """Save the model as ONNX (an .onnx file or bytes, a scikit-learn estimator or a torch
        module with `sample_input`). With `register_as`, the run's model is registered
        under that name when the run finishes, evaluated on `holdout` (a file, or a pandas
        or Arrow table, kept with the run) with `target` as its label column, and gated
        like a recipe's model. The model's sha256."""
        from mlopslab.exec.onnx_export import onnx_bytes

        if register_as and (holdout is None or not target):
            raise MlopslabError("log_model: register_as needs holdout= (data the model never saw) "
                                "and target= (its label column)",
                                "e.g. run.log_model(model, sample_input=X[:1], register_as='digits', "
                                "holdout='test.csv', target='label')")
        digest, size = artifacts.put_bytes(self.lab.artifacts, onnx_bytes(model, sample_input))
        self._sink.send([artifact_event(self.id, STEP, {"name": name, "sha256": digest, "size": size,
                                                         "kind": "model"})])
        if register_as:
            self._save_holdout(holdout)
            self.set_tags({"mlopslab.register_as": register_as, "mlopslab.target": target})
        return digest

    def _save_holdout(self, holdout: Any) -> None:
        if isinstance(holdout, str | Path):
            self.log_artifact(holdout, Path(holdout).name, kind="holdout")
            return
        import tempfile

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = holdout if isinstance(holdout, pa.Table) else pa.Table.from_pandas(holdout, preserve_index=False)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "holdout.parquet"
            pq.write_table(table, path)
            self.log_artifact(path, "holdout.parquet", kind="holdout")

    # the end ------------------------------------------------------------------

    def end(self, status: str = "finished", reason: str | None = None) -> None:
        """End the run (once): everything logged is sent first. A run inside `mlopslab run
        SCRIPT.py` is only flushed: its run process ends it."""
        global _active
        with _lock:
            if self.ended:
                return
            self.ended = True
            if _active is self:
                _active = None
        try:
            self._sink.flush()
            if not self.attached:
                self._sink.send([run_update(self.id, only_active=True, status=status, reason=reason,
                                            error=reason if status == "failed" else None,
                                            ended_at=time.time())])
            self._sink.close()
            if not self.attached and status == "finished" and self._tags.get("mlopslab.register_as"):
                self._register()
        finally:
            self._client.close()

    def _register(self) -> None:
        try:
            done = self._client.models.register_run(run_id=self.id, name=self._tags["mlopslab.register_as"],
                                                    actor=getpass.getuser(), target=self._tags["mlopslab.target"])
            print(f"mlopslab: run {self.id} registered model {done.ref}", file=sys.stderr, flush=True)
        except MlopslabError as e:
            print(f"mlopslab: run {self.id}: model not registered: {e.message}", file=sys.stderr, flush=True)


# the module-level API ---------------------------------------------------------


def start_run(project: str | None = None, name: str | None = None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, lab: str | Path | None = None,
              seed: int | None = None) -> TrackedRun:
    """Start a run of this process (or, inside `mlopslab run SCRIPT.py`, attach to it).
    Use it as a context manager, or call `run.end()`; a run still open when the
    interpreter exits ends as it did (finished, or failed on an uncaught exception)."""
    global _active
    with _lock:
        if _active is not None and not _active.ended:
            raise MlopslabError(f"run {_active.id} is active already in this process",
                                "end it first (run.end(), or leave its `with` block)")
    if seed is not None:
        set_seed(seed)
    found = _attach() if os.environ.get(ENV_RUN) else None
    if found is None:
        found = _start(find_lab(lab), project, name, params or {}, tags or {})
    elif params or tags:
        found.log_params(params or {})
        found.set_tags(tags or {})
    with _lock:
        _active = found
    _install_hooks()
    return found


def active_run() -> TrackedRun | None:
    """The run of this process (inside `mlopslab run SCRIPT.py`: that run, attached on first use)."""
    global _active
    if _active is None and os.environ.get(ENV_RUN):
        attached = _attach()
        with _lock:
            _active = _active or attached
        _install_hooks()
    return _active


def _current() -> TrackedRun:
    run = active_run()
    if run is None:
        raise MlopslabError("no active run in this process", "start one: with mlopslab.start_run(...) as run:")
    return run


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _current().log_metric(key, value, step)


def log_metrics(values: Mapping[str, float], step: int | None = None) -> None:
    _current().log_metrics(values, step)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_artifact(path: str | Path, name: str | None = None) -> list[str]:
    return _current().log_artifact(path, name)


def log_input(path: str | Path, name: str | None = None) -> str:
    return _current().log_input(path, name)


def log_model(model: Any, sample_input: Any = None, name: str = "model.onnx", register_as: str | None = None,
              holdout: Any = None, target: str | None = None) -> str:
    return _current().log_model(model, sample_input, name, register_as, holdout, target)


def end_run(status: str = "finished", reason: str | None = None) -> None:
    run = _active
    if run is not None:
        run.end(status, reason)


def set_seed(n: int) -> int:
    """Seed python, numpy and torch with `n`, and record it as the seed of this process's
    run (the active one, or the next one started)."""
    from mlopslab.exec.steps import seed_everything

    global _seed
    _seed = int(n)
    seed_everything(_seed)
    run = _active
    if run is not None and not run.ended:
        run._sink.send([run_update(run.id, seed=_seed)])
    return _seed


# making and attaching ---------------------------------------------------------


def _start(lab: Lab, project: str | None, name: str | None, params: Mapping[str, Any],
           tags: Mapping[str, Any]) -> TrackedRun:
    script = _calling_script()
    client = LabClient(lab)
    try:
        spec = TrackedRunSpec(
            name=name or (script.stem if script else "python"), path=str(script or ""),
            project=project or lab.config.lab.default_project, pid=os.getpid(), host=provenance.host(),
            user=getpass.getuser(), params={str(k): _plain(v) for k, v in params.items()},
            tags={str(k): str(v) for k, v in tags.items()}, seed=_seed,
            code_version=provenance.script_code_version(script) if script else None,
            deps=provenance.dependencies(),
            gpu_ids=[g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()],
            cwd=str(Path.cwd()))
        run = client.runs.start_tracked(spec=spec)
    except BaseException:
        client.close()
        raise
    print(f"mlopslab: run {run.id} ({run.recipe}, project {run.project}) is tracked in {lab.root}",
          file=sys.stderr, flush=True)
    return TrackedRun(lab, client, run, attached=False)


def _attach() -> TrackedRun:
    lab = find_lab()
    client = LabClient(lab)
    try:
        run = client.runs.get(run_id=os.environ[ENV_RUN])
    except BaseException:
        client.close()
        raise
    if run.status not in ACTIVE:
        client.close()
        raise MlopslabError(f"run {run.id} ({ENV_RUN}) is {run.status}; it takes no more logging",
                            f"unset {ENV_RUN} to start a run of your own")
    if os.environ.get(ENV_SEED, "").isdigit():  # `mlopslab run SCRIPT.py --seed N`
        from mlopslab.exec.steps import seed_everything

        seed_everything(int(os.environ[ENV_SEED]))
    return TrackedRun(lab, client, run, attached=True)


def _calling_script() -> Path | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    return Path(file).resolve() if file and Path(file).is_file() else None


def _plain(value: Any) -> Any:
    """A param as JSON keeps it: numbers, strings, booleans, None, lists and maps of them."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def _summary(error: BaseException | None) -> str:
    if error is None:
        return "failed"
    text = str(error).strip().splitlines()
    line = f"{type(error).__name__}: {text[-1]}" if text else type(error).__name__
    return line if len(line) < 500 else line[:497] + "..."


# the interpreter's end --------------------------------------------------------


def _install_hooks() -> None:
    """End an open run with the interpreter: failed on an uncaught exception, else finished."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        run = _active
        if run is not None and not run.ended:
            if issubclass(kind, KeyboardInterrupt):
                run.end("killed", "interrupted (Ctrl-C)")
            else:
                run.end("failed", _summary(error))
        previous(kind, error, tb)

    sys.excepthook = excepthook
    atexit.register(end_run)
