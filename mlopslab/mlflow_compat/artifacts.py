"""MLflow's artifact proxy routes over the lab's content-addressed store.

A run made through the MLflow API has the artifact URI
`mlflow-artifacts:/EXPERIMENT/RUN/artifacts`; the mlflow client then uploads with
`PUT /api/2.0/mlflow-artifacts/artifacts/EXPERIMENT/RUN/artifacts/PATH`, downloads with
GET on the same path and lists with `GET /api/2.0/mlflow-artifacts/artifacts?path=...`.
An upload is stored by its sha256 (artifacts.put_bytes) and recorded as the run's
artifact PATH (step `mlflow`); a download is checked against its sha256.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from mlopslab import artifacts
from mlopslab.client import LabClient
from mlopslab.core.events import ArtifactRecorded
from mlopslab.core.hashing import sha256_bytes
from mlopslab.core.run import Run
from mlopslab.lab import Lab
from mlopslab.mlflow_compat.wire import MlflowError

STEP = "mlflow"


class Artifacts:
    ROOT = "/api/2.0/mlflow-artifacts/artifacts"

    def __init__(self, lab: Lab, client: LabClient, run_of: Callable[[str], Run]) -> None:
        self.lab, self.client, self.run_of = lab, client, run_of

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        rest = path.removeprefix(self.ROOT).strip("/")
        if method == "GET" and not rest:
            return self.listing(query.get("path", ""))
        run, relative = self._locate(rest)
        if method == "PUT":
            return self.upload(run, relative, body)
        if method == "GET":
            return self.download(run, relative)
        raise MlflowError("NOT_IMPLEMENTED", f"{method} on artifacts is not supported")

    def _locate(self, rest: str) -> tuple[Run, str]:
        parts = rest.split("/")
        if len(parts) < 3 or parts[2] != "artifacts":
            raise MlflowError("INVALID_PARAMETER_VALUE",
                              f"'{rest}' is not EXPERIMENT/RUN/artifacts[/PATH] of an mlopslab run")
        relative = "/".join(parts[3:])
        if any(p in ("", ".", "..") for p in relative.split("/")) and relative:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"'{relative}' is not a plain relative path")
        return self.run_of(parts[1]), relative

    def upload(self, run: Run, relative: str, body: bytes) -> Response:
        digest, size = artifacts.put_bytes(self.lab.artifacts, body)
        self.client.write([ArtifactRecorded(run_id=run.id, step=STEP, name=relative, sha256=digest, size=size,
                                            artifact_kind="artifact", ts=time.time())])
        return JSONResponse({})

    def download(self, run: Run, relative: str) -> Response:
        found = [a for a in run.artifacts or () if a.path == relative]
        if not found:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"run '{run.id}' has no artifact '{relative}'")
        data = self.lab.artifact_path(found[-1].sha256).read_bytes()
        if sha256_bytes(data) != found[-1].sha256:
            raise MlflowError("INTERNAL_ERROR", f"artifact '{relative}' of run '{run.id}' does not match its sha256")
        return Response(data, media_type="application/octet-stream")

    def listing(self, where: str) -> Response:
        rest = where.strip("/")
        if rest.count("/") < 2:
            return JSONResponse({"files": []})
        run, prefix = self._locate(rest)
        prefix = f"{prefix}/" if prefix else ""
        files: dict[str, dict[str, Any]] = {}
        for a in run.artifacts or ():
            if not a.path.startswith(prefix):
                continue
            head, _, tail = a.path[len(prefix):].partition("/")  # relative to the folder listed
            files[head] = {"path": head, "is_dir": True} if tail else {"path": head, "is_dir": False,
                                                                       "file_size": a.size}
        return JSONResponse({"files": sorted(files.values(), key=lambda f: f["path"])})
