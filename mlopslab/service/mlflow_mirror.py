"""The MLflow mirror: with `[mlflow] mirror_uri` set, the lab service logs the lab into
that MLflow in the background, so a team's MLflow UI stays current (docs/mlflow.md).

Every `mirror_interval_s` one pass sends what is new: for each run (but runs that came
from MLflow, kind `mlflow`) its MLflow run (found by the tag `mlopslab.run_id`, made
if missing), its params, its metric points in batches of 1,000 in the order of their
timestamps, its artifacts, and its end; for each version of the lab's registry, a
version of the registered model of that name whose source is the run's model, and the
alias `champion` where the lab's champion is. Progress is stored after every batch,
so a pass that fails (the MLflow is down, slow or refuses) is taken up where it
stopped by the next; nothing is sent twice. The pass runs in its own thread and only
reads the store: a slow or absent MLflow never slows a run. `lab status` shows the
backlog and the last error.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopslab.core.clock import epoch_ms
from mlopslab.core.mlflow_registry import STATUS_TO_MLFLOW, MirrorRunProgressed, MirrorVersionMade, param_text
from mlopslab.core.run import Run
from mlopslab.core.runs import FINAL
from mlopslab.core.service_status import MirrorStatus
from mlopslab.service.loops import every
from mlopslab.store import mlflow_store as q

if TYPE_CHECKING:
    from mlopslab.config import MlflowSection
    from mlopslab.lab import Lab
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

BATCH = 1000  # MLflow takes at most 1,000 metrics in one log_batch
ENDED = {status: STATUS_TO_MLFLOW[status] for status in FINAL}
TAG = "mlopslab.run_id"


def shown_uri(uri: str) -> str:
    """The URI without a password or token in it (what status and the log show)."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


class MlflowMirror:
    def __init__(self, lab: Lab, store: Store, section: MlflowSection) -> None:
        self.lab, self.store, self.section = lab, store, section
        self.last_error: str | None = None
        self.last_pass: float | None = None
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    def loop(self, writer: GroupWriter, stopping: threading.Event) -> None:
        every(self.section.mirror_interval_s, stopping, "mlflow mirror", lambda: self.tick(writer))

    def status(self) -> MirrorStatus | None:
        if not self.section.mirror_uri:
            return None
        done = q.mirror_runs(self.store)
        runs = q.mirror_candidates(self.store)
        behind = [r for r in runs if not _complete(r, done.get(r.run_id))]
        return MirrorStatus(uri=shown_uri(self.section.mirror_uri), runs=len(runs), behind=len(behind),
                            last_error=self.last_error,
                            last_pass=datetime.fromtimestamp(self.last_pass, UTC) if self.last_pass else None)

    def tick(self, writer: GroupWriter) -> int:
        """One pass; the number of runs that got something sent."""
        if not self.section.mirror_uri:
            return 0
        with self._lock:
            try:
                sent = self._pass(writer)
            except Exception as e:  # noqa: BLE001 - the mirror's trouble is never the lab's
                self.last_error = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
                print(f"mlflow mirror {shown_uri(self.section.mirror_uri)}: {self.last_error}",
                      file=sys.stderr, flush=True)
                return 0
            self.last_error, self.last_pass = None, time.time()
            return sent

    def _pass(self, writer: GroupWriter) -> int:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.section.mirror_uri, registry_uri=self.section.mirror_uri)
        done = q.mirror_runs(self.store)
        sent = 0
        for run in q.mirror_candidates(self.store):
            if not _complete(run, done.get(run.run_id)):
                self._run(client, writer, self.store.get_run(run.run_id), done.get(run.run_id))
                sent += 1
        self._versions(client, writer, q.mirror_runs(self.store))
        return sent

    # one run ------------------------------------------------------------------------

    def _run(self, client: Any, writer: GroupWriter, run: Run, state: MirrorRunProgressed | None) -> None:
        from mlflow.entities import Metric, Param

        mlflow_id = state.mlflow_run_id if state else self._mlflow_run(client, run)
        params, points, arts = (state.params, state.points, state.artifacts) if state else (0, 0, 0)

        def progress(ended: bool = False) -> None:
            writer.write(None, [MirrorRunProgressed(run_id=run.id, mlflow_run_id=mlflow_id, params=params,
                                                    points=points, artifacts=arts, ended=ended, ts=time.time())])

        items = list((run.params or {}).items())
        if len(items) > params:
            client.log_batch(mlflow_id, params=[Param(k, param_text(v)) for k, v in items[params:]])
            params = len(items)
            progress()
        while batch := q.run_points(self.store, run.id, points, BATCH):
            client.log_batch(mlflow_id, metrics=[Metric(k, float("nan") if v is None else v, round(ts * 1000), step)
                                                  for k, step, ts, v in batch])
            points += len(batch)
            progress()
        for artifact in (run.artifacts or ())[arts:]:
            self._artifact(client, mlflow_id, artifact.path, artifact.sha256)
            arts += 1
            progress()
        if run.status in ENDED:
            client.set_terminated(mlflow_id, ENDED[run.status],
                                  epoch_ms(run.ended_at))
            progress(ended=True)
        elif state is None:
            progress()

    def _mlflow_run(self, client: Any, run: Run) -> str:
        """The MLflow run of a lab run: found by its tag (a pass that died after making it), else made."""
        experiment = self._experiment(client, run.project)
        found = client.search_runs([experiment], f"tags.`{TAG}` = '{run.id}'", max_results=1)
        if found:
            return str(found[0].info.run_id)
        started = run.started_at or run.created_at
        made = client.create_run(experiment, start_time=epoch_ms(started), run_name=run.recipe,
                                 tags={TAG: run.id, "mlflow.user": run.user_name or "",
                                       **{k: v for k, v in (run.tags or {}).items() if not k.startswith("mlflow.")}})
        return str(made.info.run_id)

    def _experiment(self, client: Any, project: str) -> str:
        if project not in self._experiments:
            found = client.get_experiment_by_name(project)
            self._experiments[project] = found.experiment_id if found else client.create_experiment(project)
        return self._experiments[project]

    def _artifact(self, client: Any, mlflow_id: str, path: str, sha256: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / Path(path).name
            shutil.copyfile(self.lab.artifact_path(sha256), local)
            parent = str(Path(path).parent)
            client.log_artifact(mlflow_id, str(local), None if parent == "." else parent)

    # the registry ---------------------------------------------------------------------

    def _versions(self, client: Any, writer: GroupWriter, runs: dict[str, MirrorRunProgressed]) -> None:
        made = q.mirror_versions(self.store)
        rows = self.store.cursor().execute(
            "SELECT v.name, v.version, v.run_id, coalesce((SELECT a.version FROM model_aliases a WHERE "
            "a.name = v.name AND a.alias = 'champion'), -1) = v.version FROM model_versions v "
            "ORDER BY v.name, v.version").fetchall()
        for name, version, run_id, champion in rows:
            key = (str(name), int(version))
            mirrored = runs.get(run_id) if run_id else None
            if key not in made and mirrored is not None:
                if client.search_registered_models(f"name = '{name}'", max_results=1) == []:
                    client.create_registered_model(name)
                model = self._model_artifact(self.store.get_run(run_id))
                v = client.create_model_version(name, f"runs:/{mirrored.mlflow_run_id}/{model}",
                                                run_id=mirrored.mlflow_run_id, tags={"mlopslab.version": str(version)})
                made[key] = (int(v.version), False)
                writer.write(None, [MirrorVersionMade(name=name, version=int(version), mlflow_version=int(v.version),
                                                      champion=False, ts=time.time())])
            if key in made and bool(champion) and not made[key][1]:
                client.set_registered_model_alias(name, "champion", str(made[key][0]))
                writer.write(None, [MirrorVersionMade(name=name, version=int(version), mlflow_version=made[key][0],
                                                      champion=True, ts=time.time())])

    @staticmethod
    def _model_artifact(run: Run) -> str:
        models = [a.path for a in run.artifacts or () if a.kind == "model"]
        return models[-1] if models else "model"


def _complete(run: q.MirrorCandidate, state: MirrorRunProgressed | None) -> bool:
    """Everything of the run is in the mirror (an active run never is)."""
    if state is None or not state.ended or run.status not in ENDED:
        return False
    return state.points >= run.points and state.artifacts >= run.artifacts and state.params >= run.params


