"""Operations on runs: list, count, show, metrics, metric curves, logs, submit, start a
tracked one, resume, cancel."""

from __future__ import annotations

from pydantic import Field

from mlopslab.api.operation import Request, read, write
from mlopslab.core.curves import CurveX, MetricCurve
from mlopslab.core.mlflow_registry import MlflowModel
from mlopslab.core.run import (
    ImportedRun,
    LogLine,
    MetricPoint,
    Project,
    Run,
    RunFields,
    RunSpec,
    TrackedRunSpec,
)


class ListRuns(Request):
    filter: str | None = None
    sort: str | None = None
    limit: int = 50  # the service keeps it within 1..100,000
    offset: int = 0


class CountRuns(Request):
    filter: str | None = None


class RunFieldsRequest(Request):
    pass


class GetRun(Request):
    run_id: str


class Metrics(Request):
    run_id: str
    key: str | None = None


MAX_CURVES = 500  # runs in one metric_curves request
MAX_BUCKETS = 10_000
CURVE_BUCKETS = 200  # up to 400 points a curve: more than a terminal chart can draw


class MetricCurves(Request):
    run_ids: list[str] = Field(min_length=1, max_length=MAX_CURVES)  # whole ids, not prefixes
    key: str
    buckets: int = Field(CURVE_BUCKETS, gt=0, le=MAX_BUCKETS)  # a curve has at most 2 x buckets points
    x: CurveX = "step"


class Logs(Request):
    run_id: str
    after: int = -1
    limit: int = 10_000


class SubmitRun(Request):
    spec: RunSpec


class StartTrackedRun(Request):
    spec: TrackedRunSpec


class ListProjects(Request):
    pass


class CreateProject(Request):
    name: str = Field(min_length=1, max_length=200)


class ImportRun(Request):
    run: ImportedRun


class MlflowRegistryRequest(Request):
    pass


class ResumeRun(Request):
    run_id: str
    from_scratch: bool = False  # True: run every step again instead of reusing finished ones


class CancelRun(Request):
    run_id: str
    actor: str | None = None


LIST_RUNS = read("list_runs", ListRuns, list[Run],
                 "Runs a filter selects, sorted, one window of them (newest first by default).")
COUNT_RUNS = read("count_runs", CountRuns, int, "How many runs a filter selects.")
RUN_FIELDS = read("run_fields", RunFieldsRequest, RunFields,
                  "Metric and param names in the lab, and how many runs have each status.")
GET_RUN = read("get_run", GetRun, Run, "One run by id or unique id prefix, with its attempts.")
METRICS = read("metrics", Metrics, list[MetricPoint], "A run's metric points, one key or all.")
METRIC_CURVES = read("metric_curves", MetricCurves, list[MetricCurve],
                     "One metric's curve for each of many runs (in the order asked), downsampled in "
                     "the store: each run's x range cut into `buckets` equal buckets, each keeping "
                     "its lowest and highest point; a run with at most 2 x buckets points comes whole.")
LOGS = read("logs", Logs, list[LogLine], "A run's log lines after a sequence number.")
SUBMIT_RUN = write("submit_run", SubmitRun, Run,
                   "Queue a run (rejected at once if it can never fit its quota or the cluster).")
START_TRACKED_RUN = write("start_tracked_run", StartTrackedRun, Run,
                          "Record a run of code that tracks itself (mlopslab.start_run): running "
                          "at once in the caller's process, outside the queue.")
LIST_PROJECTS = read("list_projects", ListProjects, list[Project], "Every project, with how many runs it has.")
CREATE_PROJECT = write("create_project", CreateProject, Project,
                       "Make a project before its first run (one that exists is left as it is).",
                       idempotent=True)
MLFLOW_REGISTRY = read("mlflow_registry", MlflowRegistryRequest, list[MlflowModel],
                       "MLflow's registered models with their versions and aliases (what the MLflow API "
                       "and import keep; no gates: apart from the lab's registry).")
IMPORT_RUN = write("import_run", ImportRun, Run,
                   "Record a run of another tracker under its own id, status and times; importing "
                   "it again updates its status, times, params and tags.", idempotent=True)
RESUME_RUN = write("resume_run", ResumeRun, Run,
                   "Queue a failed, timed-out or killed run again, reusing its finished steps.")
CANCEL_RUN = write("cancel_run", CancelRun, Run,
                   "Cancel a queued or running run; cancelling an ended run changes nothing.",
                   idempotent=True)

OPERATIONS = (LIST_RUNS, COUNT_RUNS, RUN_FIELDS, GET_RUN, METRICS, METRIC_CURVES, LOGS, SUBMIT_RUN,
              START_TRACKED_RUN, LIST_PROJECTS, CREATE_PROJECT, MLFLOW_REGISTRY, IMPORT_RUN, RESUME_RUN,
              CANCEL_RUN)
