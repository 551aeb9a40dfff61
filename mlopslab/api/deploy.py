"""Operations on deployments: list, show, deploy, roll back, undeploy."""

from __future__ import annotations

from typing import Any

from mlopslab.api.operation import JsonObject, NoArgs, Request, read, write


class DeploymentName(Request):
    name: str


class Deploy(Request):
    ref: str
    name: str | None = None
    backend: str = "process"
    port: int | None = None
    actor: str | None = None
    image: str | None = None
    watch: dict[str, Any] | None = None
    options: dict[str, Any] | None = None


class Rollback(Request):
    name: str
    actor: str | None = None
    reason: str | None = None


class Undeploy(Request):
    name: str
    actor: str | None = None


DEPLOYMENTS = read("deployments", NoArgs, list[JsonObject], "Every deployment with its live state.")
DEPLOYMENT = read("deployment", DeploymentName, JsonObject,
                  "One deployment with its replicas, events and the versions it served.")
DEPLOY = write("deploy", Deploy, JsonObject,
               "Serve a model version: a new deployment, or blue/green onto an existing one.")
ROLLBACK = write("rollback", Rollback, JsonObject, "Switch a deployment back to the version it served before.")
UNDEPLOY = write("undeploy", Undeploy, JsonObject, "Stop a deployment and free its port.",
                 idempotent=False)

OPERATIONS = (DEPLOYMENTS, DEPLOYMENT, DEPLOY, ROLLBACK, UNDEPLOY)
