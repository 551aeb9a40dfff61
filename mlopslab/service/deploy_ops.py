"""Deployment operations of the lab service: deploy, list/show, rollback, undeploy, supervision.

The model comes from the registry (a ref such as `iris@3` or `iris:champion`); the
running parts (gateway, replicas) are files and processes/containers that outlive
the service (deploy/deployments.py); what happens is also written to the store
(store/deployment_writes.py) for history and lineage. A background thread restarts
dead gateways and replicas and records what gateways decided alone (auto-rollbacks).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from mlopslab.api import deploy as api
from mlopslab.core.deployments import (
    Deployment,
    DeploymentDetail,
    RolledBack,
    ServingOptions,
    Undeployed,
    WatchPolicy,
)
from mlopslab.core.errors import DeployError
from mlopslab.core.events import (
    DeploymentAutoRolledBack,
    DeploymentChanged,
    DeploymentHappening,
    DeploymentVersionServed,
    GatewayRestarted,
    ReplicaRestarted,
    VersionFailed,
)
from mlopslab.core.refs import parse_model_ref
from mlopslab.deploy.backend import Backend
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.events import describe
from mlopslab.deploy.process import ProcessBackend
from mlopslab.service.dispatch import Handlers
from mlopslab.store import deployment_writes as dq
from mlopslab.store import models as q

if TYPE_CHECKING:
    from mlopslab.lab import Lab
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

SUPERVISE_INTERVAL_S = 2.0
ALERTS = (DeploymentAutoRolledBack, ReplicaRestarted, GatewayRestarted, VersionFailed)


class DeployOps:
    def __init__(self, lab: Lab, store: Store, writer: GroupWriter) -> None:
        self.lab, self.store, self.writer = lab, store, writer
        self.backends: dict[str, Backend] = {"process": ProcessBackend()}
        self.deployments = Deployments(lab.root / "deployments", self.backends, on_event=self._record,
                                       proxy=lab.config.deploy.proxy)
        self._docker_lock = threading.Lock()
        self._asking = threading.local()  # who asked for the change this thread is making

    def handlers(self) -> Handlers:
        return {api.DEPLOYMENTS: self.op_deployments, api.DEPLOYMENT: self.op_deployment,
                api.DEPLOY: self.op_deploy, api.ROLLBACK: self.op_rollback, api.UNDEPLOY: self.op_undeploy}

    # reads ----------------------------------------------------------------

    def op_deployments(self) -> list[Deployment]:
        self._backends_for(self.deployments.names())
        return self.deployments.overview()

    def op_deployment(self, name: str) -> DeploymentDetail:
        self._backends_for([name])
        return DeploymentDetail.of(self.deployments.show(name), dq.deployment_events(self.store, name),
                                   dq.deployed_versions(self.store, name))

    # changes --------------------------------------------------------------

    def op_deploy(self, ref: str, name: str | None = None, backend: str = "process", port: int | None = None,
                  actor: str | None = None, image: str | None = None, watch: WatchPolicy | None = None,
                  options: ServingOptions | None = None) -> Deployment:
        version = q.resolve(self.store, parse_model_ref(ref))
        name = name or version.name
        self._ensure_backend(backend, image)
        model_file = self.lab.artifact_path(version.sha256)
        if not model_file.exists():
            raise DeployError(f"the artifact of {version.ref} is missing",
                              hint=f"expected {model_file}")
        with self._asked_by(actor):
            shown = self.deployments.deploy(
                name, model_file, version.name, str(version.version), backend=backend, port=port,
                options=options or ServingOptions(), policy=watch or WatchPolicy(),
                labels={"mlopslab.model": version.name, "mlopslab.lab": str(self.lab.root)})
        self.writer.write(None, [
            DeploymentVersionServed(deployment=name, version=str(version.version),
                                    model_version_id=version.id, sha256=version.sha256, ts=_now()),
            self._row(shown, actor)])
        return shown

    def op_rollback(self, name: str, actor: str | None = None, reason: str | None = None) -> RolledBack:
        self._backends_for([name])
        with self._asked_by(actor):
            result = self.deployments.rollback(name, reason)
        self.writer.write(None, [self._row(result, actor)])
        return result

    def op_undeploy(self, name: str, actor: str | None = None) -> Undeployed:
        self._backends_for([name])
        shown = self.deployments.show(name)
        with self._asked_by(actor):
            result = self.deployments.undeploy(name)
        self.writer.write(None, [self._row(replace(shown, active_version=None, previous_version=None),
                                           actor, status="undeployed")])
        return result

    # supervision ----------------------------------------------------------

    def loop(self, stopping: threading.Event) -> None:
        while not stopping.wait(SUPERVISE_INTERVAL_S):
            try:
                self._backends_for(self.deployments.names())
                if self.deployments.supervise():
                    self.writer.write(None, [self._row(d, None) for d in self.deployments.overview()])
            except Exception as e:  # noqa: BLE001 - keep supervising
                print(f"deployment supervision: {e!r}", file=sys.stderr, flush=True)

    # parts ----------------------------------------------------------------

    @contextlib.contextmanager
    def _asked_by(self, actor: str | None) -> Iterator[None]:
        """Events made in this thread meanwhile are the actor's; supervision's are nobody's."""
        self._asking.actor = actor
        try:
            yield
        finally:
            self._asking.actor = None

    def _record(self, event: DeploymentHappening) -> None:
        event = replace(event, actor=event.actor or getattr(self._asking, "actor", None))
        self.writer.write(None, [event])
        if isinstance(event, ALERTS):
            print(f"deployment {event.deployment}: {describe(event)}",
                  file=sys.stderr, flush=True)

    def _row(self, shown: Deployment, actor: str | None, status: str | None = None) -> DeploymentChanged:
        return DeploymentChanged(ts=_now(), actor=actor, deployment={
            "name": shown.name, "backend": shown.backend, "model_name": shown.model,
            "endpoint": shown.endpoint, "active_version": shown.active_version,
            "previous_version": shown.previous_version,
            "status": status or ("serving" if shown.serving() else "degraded")})

    def _backends_for(self, names: list[str]) -> None:
        if any(self.deployments.backend_of(name) == "docker" for name in names):
            self._ensure_backend("docker", None)

    def _ensure_backend(self, kind: str, image: str | None) -> None:
        if kind == "process" or (kind in self.backends and image is None):
            return
        if kind != "docker":
            raise DeployError(f"unknown backend '{kind}'", hint="docker or process")
        with self._docker_lock:
            from mlopslab.deploy.docker import DockerBackend

            self.backends["docker"] = DockerBackend.default(image)


def _now() -> float:
    return time.time()
