"""Operations on deployments: list, show, deploy, roll back, undeploy."""

from __future__ import annotations

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.deployments import (
    Deployment,
    DeploymentDetail,
    RolledBack,
    ServingOptions,
    Undeployed,
    WatchPolicy,
)


class DeploymentName(Request):
    name: str


class Deploy(Request):
    ref: str
    name: str | None = None
    backend: str = "process"
    port: int | None = None
    actor: str | None = None
    image: str | None = None
    watch: WatchPolicy | None = None  # None: the defaults
    options: ServingOptions | None = None  # None: the defaults


class Rollback(Request):
    name: str
    actor: str | None = None
    reason: str | None = None


class Undeploy(Request):
    name: str
    actor: str | None = None


DEPLOYMENTS = read("deployments", NoArgs, list[Deployment], "Every deployment with its live state.")
DEPLOYMENT = read("deployment", DeploymentName, DeploymentDetail,
                  "One deployment with its replicas, events and the versions it served.")
DEPLOY = write("deploy", Deploy, Deployment,
               "Serve a model version: a new deployment, or blue/green onto an existing one.")
ROLLBACK = write("rollback", Rollback, RolledBack, "Switch a deployment back to the version it served before.")
UNDEPLOY = write("undeploy", Undeploy, Undeployed, "Stop a deployment and free its port.",
                 idempotent=False)

OPERATIONS = (DEPLOYMENTS, DEPLOYMENT, DEPLOY, ROLLBACK, UNDEPLOY)
