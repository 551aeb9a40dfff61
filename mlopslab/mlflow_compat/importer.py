"""`mlopslab import mlflow URI`: an MLflow history into the lab, with nothing lost.

MLflow's own client reads the source (a `sqlite:///` store, an `mlruns` folder, an
MLflow server's URL), one run at a time, so memory stays flat on a large store.
Every experiment becomes a project; every run keeps its MLflow id as its lab id, its
name, user, status, start and end times, params, tags (`mlflow.parentRunId` of a
nested run included) and every point of every metric with its own step and
timestamp; its artifacts are copied into the lab's content-addressed store and
hashed; registered models, their versions and aliases go to the lab's record of
MLflow's registry. An import is incremental: a run already imported is updated only
where MLflow changed it (new metric points are added, never doubled), so a second
import of an unchanged store adds nothing. It ends with a verification: the counts
of each entity in MLflow and in the lab, which must be equal.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopslab import artifacts
from mlopslab.client import LabClient
from mlopslab.core.clock import epoch_ms as _ms
from mlopslab.core.errors import MlopslabError, NotFound
from mlopslab.core.events import ArtifactRecorded, Event, MetricsLogged
from mlopslab.core.mlflow_registry import STATUS_FROM_MLFLOW, MlflowAliasSet, MlflowModelSaved, MlflowVersionSaved
from mlopslab.core.run import ImportedRun
from mlopslab.lab import Lab

STEP = "mlflow"
POINTS_PER_WRITE = 50_000
COUNTED = ("experiments", "runs", "params", "tags", "metric points", "artifacts", "registered models",
           "model versions", "aliases")


@dataclass
class Counts:
    mlflow: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    lab: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    added_runs: int = 0
    updated_runs: int = 0
    unchanged_runs: int = 0
    added_points: int = 0
    added_artifacts: int = 0
    run_ids: list[str] = field(default_factory=list)
    model_names: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # what the lab refused (the import goes on)

    @property
    def matches(self) -> bool:
        return self.mlflow == self.lab


def open_source(uri: str) -> Any:
    """MLflow's client on `uri` (a file path is taken as an `mlruns` folder), checked by one read."""
    from mlflow import MlflowClient

    if "://" not in uri and not uri.startswith("file:"):
        folder = Path(uri).expanduser()
        if not folder.is_dir():
            raise MlopslabError(f"{uri}: no such mlruns folder",
                                "give sqlite:///PATH/mlflow.db, an mlruns folder, or http://HOST:PORT")
        uri = folder.resolve().as_uri()
    if uri.startswith("file:"):
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 reads its old file stores only when told
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise MlopslabError(f"{uri}: no such sqlite file", "give the path of an existing MLflow database")
    import mlflow

    # some of MLflow's client calls make a client of the process's own tracking URI inside
    # (listing a run's artifacts looks for logged models): it must be this store, never a
    # default ./mlflow.db made in the current folder
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as e:  # noqa: BLE001 - MLflow's own errors, of many kinds
        raise MlopslabError(f"cannot read the MLflow store at {uri}: {str(e).splitlines()[0][:300]}",
                            "is it an MLflow store (or a running MLflow server)?") from None
    return client


def import_mlflow(lab: Lab, lab_client: LabClient, uri: str, say: Callable[[str], None]) -> Counts:
    source = open_source(uri)
    counts = Counts()
    experiments = list(_pages(lambda token: source.search_experiments(page_token=token, max_results=1000)))
    known = {p.name for p in lab_client.runs.projects()}
    for exp in experiments:
        counts.mlflow["experiments"] += 1
        try:
            if exp.name not in known:
                lab_client.runs.create_project(name=exp.name)
        except MlopslabError as e:  # the rest goes on; the counts show what is missing
            counts.problems.append(f"experiment {exp.name[:80]!r} and its runs: {e.message}")
            _count_skipped(source, _pages(_runs_of(source, exp.experiment_id)), counts)
            continue
        n = 0
        for n, mlflow_run in enumerate(_pages(_runs_of(source, exp.experiment_id)), 1):  # a page at a time
            try:
                _import_run(lab, lab_client, source, uri, exp.name, mlflow_run, counts)
            except MlopslabError as e:
                counts.problems.append(f"run {mlflow_run.info.run_id}: {e.message}")
            if n % 50 == 0:
                say(f"experiment {exp.name}: {n} runs")
        say(f"experiment {exp.name}: {n} runs imported")
    _import_registry(lab_client, source, counts)
    _count_lab(lab_client, experiments, counts)
    return counts


def _runs_of(source: Any, experiment_id: str) -> Callable[[str | None], Any]:
    def fetch(token: str | None) -> Any:  # active runs (a deleted run is not imported)
        return source.search_runs([experiment_id], "", run_view_type=1, max_results=1000, page_token=token)
    return fetch


def _count_skipped(source: Any, runs: Iterator[Any], counts: Counts) -> None:
    """What MLflow has in runs that could not be imported (so the counts show it missing)."""
    for r in runs:
        counts.mlflow["runs"] += 1
        counts.mlflow["params"] += len(r.data.params)
        counts.mlflow["tags"] += len(r.data.tags)
        counts.mlflow["metric points"] += sum(len(source.get_metric_history(r.info.run_id, k)) for k in r.data.metrics)
        counts.mlflow["artifacts"] += sum(1 for _ in _artifact_files(source, r.info.run_id, None))


def _pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _import_run(lab: Lab, lab_client: LabClient, source: Any, uri: str, project: str, r: Any,
                counts: Counts) -> None:
    info, data = r.info, r.data
    counts.mlflow["runs"] += 1
    counts.run_ids.append(info.run_id)
    counts.mlflow["params"] += len(data.params)
    counts.mlflow["tags"] += len(data.tags)
    try:
        before = lab_client.runs.get(run_id=info.run_id)
    except NotFound:
        before = None
    start = (info.start_time or 0) / 1000
    run = ImportedRun(id=info.run_id, project=project, name=info.run_name or info.run_id, source=uri,
                      status=STATUS_FROM_MLFLOW.get(info.status, "failed"), created_at=start,
                      started_at=start if info.start_time else None,
                      ended_at=info.end_time / 1000 if info.end_time else None, user=info.user_id or None,
                      params=dict(data.params), tags=dict(data.tags))
    changed = before is None or (before.status, before.params or {}, before.tags or {}, _ms(before.ended_at)) != (
        run.status, run.params, run.tags, info.end_time or None)
    if changed:
        lab_client.runs.import_run(run=run)
    new_points = _import_points(lab_client, source, info.run_id, list(data.metrics), before is not None, counts)
    new_artifacts = _import_artifacts(lab, lab_client, source, info.run_id, before, counts)
    counts.added_points += new_points
    counts.added_artifacts += new_artifacts
    if before is None:
        counts.added_runs += 1
    elif changed or new_points or new_artifacts:
        counts.updated_runs += 1
    else:
        counts.unchanged_runs += 1


def _import_points(lab_client: LabClient, source: Any, run_id: str, keys: list[str], known: bool,
                   counts: Counts) -> int:
    """Every point of every metric the lab does not have yet, with its own step and time."""
    have = {(p.key, p.step, _ms(p.ts), p.value) for p in lab_client.runs.metrics(run_id=run_id)} if known else set()
    added = 0
    batch: list[list[Any]] = []
    for key in keys:
        for m in source.get_metric_history(run_id, key):
            counts.mlflow["metric points"] += 1
            value = None if m.value != m.value else float(m.value)
            if (key, int(m.step), int(m.timestamp), value) not in have:
                batch.append([key, int(m.step), m.timestamp / 1000, value])
            if len(batch) >= POINTS_PER_WRITE:
                lab_client.write([MetricsLogged(run_id=run_id, points=batch)])
                added, batch = added + len(batch), []
    if batch:
        lab_client.write([MetricsLogged(run_id=run_id, points=batch)])
        added += len(batch)
    return added


def _import_artifacts(lab: Lab, lab_client: LabClient, source: Any, run_id: str, before: Any,
                      counts: Counts) -> int:
    have = {(a.path, a.sha256) for a in (before.artifacts or ())} if before else set()
    added = 0
    with tempfile.TemporaryDirectory() as folder:
        for path in _artifact_files(source, run_id, None):
            counts.mlflow["artifacts"] += 1
            local = Path(source.download_artifacts(run_id, path, folder))
            digest, size = artifacts.put_file(lab.artifacts, local)
            local.unlink()
            if (path, digest) in have:
                continue
            lab_client.write([ArtifactRecorded(run_id=run_id, step=STEP, name=path, sha256=digest, size=size,
                                               artifact_kind="artifact", ts=time.time())])
            added += 1
    return added


def _artifact_files(source: Any, run_id: str, path: str | None) -> Iterator[str]:
    for f in source.list_artifacts(run_id, path):
        if f.is_dir:
            yield from _artifact_files(source, run_id, f.path)
        else:
            yield f.path


def _import_registry(lab_client: LabClient, source: Any, counts: Counts) -> None:
    events: list[Event] = []
    for model in _pages(lambda token: source.search_registered_models(max_results=1000, page_token=token)):
        counts.mlflow["registered models"] += 1
        counts.model_names.add(model.name)
        events.append(MlflowModelSaved(name=model.name, description=model.description or "",
                                       tags=dict(model.tags or {}), ts=(model.creation_timestamp or 0) / 1000))
        versions = sorted(source.search_model_versions(f"name = '{_quoted(model.name)}'"),
                          key=lambda v: int(v.version))
        for v in versions:
            counts.mlflow["model versions"] += 1
            events.append(MlflowVersionSaved(
                name=model.name, version=int(v.version), source=v.source or "", run_id=v.run_id or None,
                status=v.status or "READY", description=v.description or "", tags=dict(v.tags or {}),
                user=v.user_id or None, ts=(v.creation_timestamp or 0) / 1000))
        for alias, version in (model.aliases or {}).items():
            counts.mlflow["aliases"] += 1
            events.append(MlflowAliasSet(name=model.name, alias=alias, version=int(version), ts=time.time()))
    if events:
        lab_client.write(events)


def _count_lab(lab_client: LabClient, experiments: list[Any], counts: Counts) -> None:
    names = {e.name for e in experiments}
    counts.lab["experiments"] = sum(p.name in names for p in lab_client.runs.projects())
    for run_id in counts.run_ids:
        try:
            run = lab_client.runs.get(run_id=run_id)
        except NotFound:
            continue
        counts.lab["runs"] += 1
        counts.lab["params"] += len(run.params or {})
        counts.lab["tags"] += len(run.tags or {})
        counts.lab["metric points"] += len(lab_client.runs.metrics(run_id=run.id))
        counts.lab["artifacts"] += sum(a.step == STEP for a in run.artifacts or ())
    registry = [m for m in lab_client.runs.mlflow_registry() if m.name in counts.model_names]
    counts.lab["registered models"] = len(registry)
    counts.lab["model versions"] = sum(len(m.versions) for m in registry)
    counts.lab["aliases"] = sum(len(m.aliases) for m in registry)


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def say_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
