"""The lab's nouns as MLflow's entities (mlflow.entities), so that responses are MLflow's
own protobuf JSON and searches use MLflow's own filter and order code.

    lab                        MLflow
    project                    experiment (id "0" is the lab's default project, else the name)
    run (its `recipe` column)  run (its run_name)
    params (JSON values)       params (strings)
    metric points              metrics (latest: the highest step, then time, then value)
    run tags                   tags (mlflow.* system tags included)
    status                     RUNNING / SCHEDULED / FINISHED / FAILED / KILLED
"""

from __future__ import annotations

from mlflow.entities import Experiment, Metric, Param, Run, RunData, RunInfo, RunTag

from mlopslab.core.clock import epoch_ms
from mlopslab.core.mlflow_registry import STATUS_TO_MLFLOW, param_text
from mlopslab.core.run import MetricPoint, Project
from mlopslab.core.run import Run as LabRun

DEFAULT_ID = "0"

def experiment_id(project: str, default_project: str) -> str:
    return DEFAULT_ID if project == default_project else project


def project_of(experiment: str, default_project: str) -> str:
    return default_project if experiment in (DEFAULT_ID, "") else experiment


def experiment(p: Project, default_project: str) -> Experiment:
    eid = experiment_id(p.name, default_project)
    created = epoch_ms(p.created_at)
    return Experiment(experiment_id=eid, name=p.name, artifact_location=f"mlflow-artifacts:/{eid}",
                      lifecycle_stage="active", tags=[], creation_time=created, last_update_time=created)


def latest(points: list[MetricPoint]) -> list[Metric]:
    """MLflow's latest value per key: the highest step, then the latest time, then the largest value."""
    best: dict[str, MetricPoint] = {}
    for p in points:
        value = float("nan") if p.value is None else p.value
        seen = best.get(p.key)
        if seen is None or (p.step, p.ts, value) > (seen.step, seen.ts, float("nan") if seen.value is None
                                                       else seen.value):
            best[p.key] = p
    return [metric(p) for p in best.values()]


def metric(p: MetricPoint) -> Metric:
    return Metric(p.key, float("nan") if p.value is None else p.value, epoch_ms(p.ts) or 0, p.step)


def run(r: LabRun, points: list[MetricPoint], default_project: str) -> Run:
    eid = experiment_id(r.project, default_project)
    tags = dict(r.tags or {})
    name = tags.setdefault("mlflow.runName", r.recipe)
    if r.user_name:
        tags.setdefault("mlflow.user", r.user_name)
    info = RunInfo(run_id=r.id, experiment_id=eid, user_id=r.user_name or "", status=STATUS_TO_MLFLOW[r.status],
                   start_time=epoch_ms(r.started_at or r.created_at) or 0, end_time=epoch_ms(r.ended_at),
                   lifecycle_stage="active", artifact_uri=f"mlflow-artifacts:/{eid}/{r.id}/artifacts",
                   run_name=name)
    data = RunData(metrics=latest(points), params=[Param(k, param_text(v)) for k, v in (r.params or {}).items()],
                   tags=[RunTag(k, v) for k, v in tags.items()])
    return Run(info, data)
