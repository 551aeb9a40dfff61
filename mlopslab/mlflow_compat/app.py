"""The MLflow tracking REST API over the lab (docs/mlflow.md has the route table).

An ASGI app (Starlette) that `mlopslab mlflow-server` serves on 127.0.0.1. Every request
needs the lab's bearer token (`Authorization: Bearer TOKEN`, which the mlflow client
sends from MLFLOW_TRACKING_TOKEN; the token is in STATE/mlflow.token). Each route turns
a request into the lab's own operations through the typed client, and answers with
MLflow's protobuf JSON (mlflow_compat/entities.py). A route this server does not
support answers MLflow's error format (`error_code`, `message`), never a silent drop.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from mlflow.protos import service_pb2 as pb
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mlopslab.client import LabClient
from mlopslab.core.errors import MlopslabError, NotFound
from mlopslab.core.events import Event, MetricsLogged, ParamsLogged, TagsSet
from mlopslab.core.mlflow_registry import STATUS_FROM_MLFLOW, param_text
from mlopslab.core.run import Project, TrackedRunSpec
from mlopslab.core.runs import run_update
from mlopslab.lab import Lab
from mlopslab.mlflow_compat import entities as e
from mlopslab.mlflow_compat.artifacts import Artifacts
from mlopslab.mlflow_compat.registry import Registry
from mlopslab.mlflow_compat.wire import Body, MlflowError, as_list, page, tags_of, to_json

API = "/api/2.0/mlflow"
TERMINAL = {"FINISHED", "FAILED", "KILLED"}
MAX_RESULTS = 50_000


class Tracking:
    """The routes: each takes the request's fields and returns the response's."""

    def __init__(self, lab: Lab, client: LabClient) -> None:
        self.lab, self.client = lab, client
        self.default = lab.config.lab.default_project
        self.artifacts = Artifacts(lab, client, self._run)
        self.registry = Registry(client)
        self._known: set[str] = set()  # run ids seen (runs are never deleted): a metric needs no lookup

    def routes(self) -> dict[tuple[str, str], Callable[[Body], Body]]:
        return {
            ("POST", "/experiments/create"): self.create_experiment,
            ("GET", "/experiments/get"): self.get_experiment,
            ("GET", "/experiments/get-by-name"): self.get_experiment_by_name,
            ("POST", "/experiments/search"): self.search_experiments,
            ("GET", "/experiments/search"): self.search_experiments,
            ("POST", "/runs/create"): self.create_run,
            ("POST", "/runs/update"): self.update_run,
            ("GET", "/runs/get"): self.get_run,
            ("POST", "/runs/search"): self.search_runs,
            ("POST", "/runs/log-metric"): self.log_metric,
            ("POST", "/runs/log-parameter"): self.log_param,
            ("POST", "/runs/set-tag"): self.set_tag,
            ("POST", "/runs/delete-tag"): self.delete_tag,
            ("POST", "/runs/log-batch"): self.log_batch,
            ("GET", "/metrics/get-history"): self.metric_history,
            ("POST", "/logged-models/search"): self.search_logged_models,
            **self.registry.routes(),
        }

    def search_logged_models(self, body: Body) -> Body:
        """MLflow 3's logged models are not made here (creating one is refused): none to find."""
        return {"models": []}

    # experiments ----------------------------------------------------------------

    def _projects(self) -> list[Project]:
        return list(self.client.runs.projects())

    def _experiment(self, experiment_id: str) -> Project:
        name = e.project_of(str(experiment_id), self.default)
        found = next((p for p in self._projects() if p.name == name), None)
        if found is None and name == self.default:  # the default experiment always exists
            found = self.client.runs.create_project(name=name)
        if found is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no experiment with id '{experiment_id}'")
        return found

    def create_experiment(self, body: Body) -> Body:
        name = str(body.get("name") or "").strip()
        if not name:
            raise MlflowError("INVALID_PARAMETER_VALUE", "an experiment needs a name")
        if any(p.name == name for p in self._projects()):
            raise MlflowError("RESOURCE_ALREADY_EXISTS", f"experiment '{name}' already exists")
        project = self.client.runs.create_project(name=name)
        return {"experiment_id": e.experiment_id(project.name, self.default)}

    def get_experiment(self, body: Body) -> Body:
        found = e.experiment(self._experiment(str(body.get("experiment_id", ""))), self.default)
        return to_json(pb.GetExperiment.Response(experiment=found.to_proto()))

    def get_experiment_by_name(self, body: Body) -> Body:
        name = str(body.get("experiment_name", ""))
        found = next((p for p in self._projects() if p.name == name), None)
        if found is None and name == self.default:
            found = self.client.runs.create_project(name=name)
        if found is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no experiment named '{name}'")
        return to_json(pb.GetExperimentByName.Response(experiment=e.experiment(found, self.default).to_proto()))

    def search_experiments(self, body: Body) -> Body:
        if not any(p.name == self.default for p in self._projects()):
            self.client.runs.create_project(name=self.default)
        found = [e.experiment(p, self.default) for p in self._projects()]
        chosen, token = page(found, body, SearchExperimentsUtils, ["creation_time DESC"], 1000)
        reply = pb.SearchExperiments.Response(experiments=[x.to_proto() for x in chosen])
        if token:
            reply.next_page_token = token
        return to_json(reply)

    # runs -------------------------------------------------------------------------

    def _run(self, run_id: str) -> Any:
        try:
            return self.client.runs.get(run_id=run_id)
        except NotFound:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no run with id '{run_id}'") from None

    def _entity(self, run_id: str) -> Any:
        run = self._run(run_id)
        return e.run(run, list(self.client.runs.metrics(run_id=run.id)), self.default)

    def create_run(self, body: Body) -> Body:
        from mlflow.utils.name_utils import _generate_random_name

        project = self._experiment(str(body.get("experiment_id") or e.DEFAULT_ID))
        tags = tags_of(body)
        name = str(body.get("run_name") or tags.get("mlflow.runName") or _generate_random_name())
        tags["mlflow.runName"] = name
        start = body.get("start_time")
        spec = TrackedRunSpec(name=name, path=tags.get("mlflow.source.name", ""), project=project.name, pid=None,
                              host=None, user=str(body.get("user_id") or tags.get("mlflow.user") or "") or None,
                              tags=tags, kind="mlflow", started_at=int(start) / 1000 if start else None)
        run = self.client.runs.start_tracked(spec=spec)
        return to_json(pb.CreateRun.Response(run=self._entity(run.id).to_proto()))

    def update_run(self, body: Body) -> Body:
        run = self._run(str(body.get("run_id") or body.get("run_uuid") or ""))
        events: list[Event] = []
        status = body.get("status")
        if status in TERMINAL:
            end = body.get("end_time")
            events.append(run_update(run.id, only_active=True, status=STATUS_FROM_MLFLOW[status],
                                     ended_at=int(end) / 1000 if end else time.time()))
        if body.get("run_name"):
            events.append(TagsSet(run_id=run.id, tags={"mlflow.runName": str(body["run_name"])}))
        if events:
            self.client.write(events)
        return to_json(pb.UpdateRun.Response(run_info=self._entity(run.id).info.to_proto()))

    def get_run(self, body: Body) -> Body:
        return to_json(pb.GetRun.Response(run=self._entity(str(body.get("run_id") or body.get("run_uuid") or ""))
                                        .to_proto()))

    def search_runs(self, body: Body) -> Body:
        wanted = {e.project_of(str(x), self.default) for x in as_list(body.get("experiment_ids"))}
        view = body.get("run_view_type") or "ACTIVE_ONLY"
        runs = [] if view == "DELETED_ONLY" else [
            r for r in self.client.runs.list(limit=100_000) if r.project in wanted]
        found = [e.run(self.client.runs.get(run_id=r.id), list(self.client.runs.metrics(run_id=r.id)),
                       self.default) for r in runs]
        chosen, token = page(found, body, SearchUtils, [], 1000, MAX_RESULTS)
        reply = pb.SearchRuns.Response(runs=[r.to_proto() for r in chosen])
        if token:
            reply.next_page_token = token
        return to_json(reply)

    # logging ----------------------------------------------------------------------

    def log_metric(self, body: Body) -> Body:
        self.log_batch({"run_id": body.get("run_id") or body.get("run_uuid"), "metrics": [body]})
        return {}

    def log_param(self, body: Body) -> Body:
        self.log_batch({"run_id": body.get("run_id") or body.get("run_uuid"), "params": [body]})
        return {}

    def set_tag(self, body: Body) -> Body:
        self.log_batch({"run_id": body.get("run_id") or body.get("run_uuid"), "tags": [body]})
        return {}

    def delete_tag(self, body: Body) -> Body:
        run = self._run(str(body.get("run_id", "")))
        key = str(body.get("key", ""))
        if key not in (run.tags or {}):
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"no tag '{key}' on run '{run.id}'")
        self.client.write([TagsSet(run_id=run.id, tags={key: None})])
        return {}

    def log_batch(self, body: Body) -> Body:
        run_id = str(body.get("run_id") or "")
        if body.get("params") or run_id not in self._known:
            run = self._run(run_id)
            self._known.add(run.id)
            run_id = run.id
        events: list[Event] = []
        metrics = body.get("metrics") or []
        if metrics:
            events.append(MetricsLogged(run_id=run_id, points=[
                [str(m["key"]), int(m.get("step") or 0), int(m.get("timestamp") or time.time() * 1000) / 1000,
                 _value(m.get("value"))] for m in metrics]))
        params = {str(p["key"]): str(p.get("value", "")) for p in body.get("params") or []}
        if params:
            merged = dict(run.params or {})
            for key, value in params.items():
                if key in merged and param_text(merged[key]) != value:
                    raise MlflowError("INVALID_PARAMETER_VALUE",
                                      f"param '{key}' of run '{run.id}' is '{param_text(merged[key])}' already; "
                                      f"a param cannot be changed (to '{value}')")
                merged[key] = value
            events += [ParamsLogged(run_id=run_id, params=merged), run_update(run_id, params=merged)]
        tags = tags_of(body)
        if tags:
            events.append(TagsSet(run_id=run_id, tags=tags))
        if events:
            self.client.write(events)
        return {}

    def metric_history(self, body: Body) -> Body:
        run = self._run(str(body.get("run_id") or body.get("run_uuid") or ""))
        points = self.client.runs.metrics(run_id=run.id, key=str(body.get("metric_key", "")))
        return to_json(pb.GetMetricHistory.Response(metrics=[e.metric(p).to_proto() for p in points]))


def _value(raw: Any) -> float | None:
    """A metric value as MLflow sends it (a number, or "NaN"/"Infinity" text); NaN is null here."""
    value = float(raw)
    return None if value != value else value


# the HTTP app -----------------------------------------------------------------------


def make_app(lab: Lab, client: LabClient, token: str) -> Starlette:
    tracking = Tracking(lab, client)
    table = tracking.routes()
    expected = f"Bearer {token}".encode()

    async def endpoint(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return MlflowError("UNAUTHENTICATED", "a bearer token is required: set MLFLOW_TRACKING_TOKEN "
                               "to the lab's (STATE/mlflow.token)").response()
        path = request.url.path
        try:
            if path.startswith(Artifacts.ROOT):
                return await run_in_threadpool(tracking.artifacts.handle, request.method, path,
                                               dict(request.query_params), await request.body())
            if path == "/version":
                import mlflow

                return Response(mlflow.__version__, media_type="text/plain")
            handler = table.get((request.method, path.removeprefix(API))) if path.startswith(API) else None
            if handler is None:
                raise MlflowError("ENDPOINT_NOT_FOUND" if not path.startswith(API) else "NOT_IMPLEMENTED",
                                  f"{request.method} {path} is not supported by mlopslab's MLflow server "
                                  "(docs/mlflow.md lists what is)")
            body = await _body(request)
            return JSONResponse(await run_in_threadpool(handler, body))
        except MlflowError as error:
            return error.response()
        except MlopslabError as error:
            code = "RESOURCE_DOES_NOT_EXIST" if isinstance(error, NotFound) else "INVALID_PARAMETER_VALUE"
            return MlflowError(code, error.message + (f" ({error.hint})" if error.hint else "")).response()
        except (KeyError, TypeError, ValueError) as error:
            return MlflowError("INVALID_PARAMETER_VALUE", f"malformed request: {error}").response()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


async def _body(request: Request) -> Body:
    if request.method == "GET":
        query: Body = {}
        for key, value in request.query_params.multi_items():
            query[key] = [*query[key], value] if key in query and isinstance(query[key], list) else (
                [query[key], value] if key in query else value)
        return query
    raw = await request.body()
    if not raw:
        return {}
    import json

    found = json.loads(raw)
    if not isinstance(found, dict):
        raise MlflowError("MALFORMED_REQUEST", "the request body must be a JSON object")
    return found
