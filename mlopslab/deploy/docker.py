"""DockerBackend: each replica is a container of the serving image.

Containers run as a non-root user on a read-only root filesystem (a small tmpfs at
/tmp), with memory and CPU limits, no capabilities, GPUs by device request when
asked, the model folder mounted read-only, the port published on 127.0.0.1 only,
a health check on /v2/health/ready, and labels naming the deployment and version.
Once a replica is ready its restart policy becomes on-failure, so the engine itself
restarts a crashed server (before that, a crash fails the deployment at once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlopslab.core.errors import DeployError
from mlopslab.deploy.backend import Replica, ReplicaSpec

CONTAINER_PORT = 8080
STOP_TIMEOUT_S = 15
HEALTH = ["CMD", "python3", "-c", "import urllib.request as u; "
          "u.urlopen('http://127.0.0.1:8080/v2/health/ready', timeout=2)"]
SECOND = 1_000_000_000


def connect() -> Any:
    import docker

    try:
        client = docker.from_env(version="auto", timeout=60)  # type: ignore[attr-defined]
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means: no engine here
        raise DeployError(f"no Docker engine answers: {e}",
                          hint="start dockerd, or set DOCKER_HOST; or use --backend process") from e
    return client


def engine_problem() -> str | None:
    try:
        connect()
    except DeployError as e:
        return e.message
    return None


class DockerBackend:
    kind = "docker"

    def __init__(self, client: Any, image: str) -> None:
        self.client = client
        self.image = image

    @classmethod
    def default(cls, image: str | None = None) -> DockerBackend:
        from mlopslab.deploy.image import ensure_image

        client = connect()
        return cls(client, image or ensure_image(client))

    for_tests = default

    def start(self, spec: ReplicaSpec) -> Replica:
        import docker.errors
        from docker.types import DeviceRequest

        o = spec.options
        gpus = [DeviceRequest(count=o.gpus, capabilities=[["gpu"]])] if o.gpus else None
        command = ["--model", "/model/model.onnx", "--name", spec.model_name, "--version", spec.version,
                   *o.server_args()]
        try:
            container = self.client.containers.run(
                self.image, command, detach=True, name=f"mlopslab-{spec.deployment}-{spec.version}-{spec.port}",
                init=True, user="10001:10001", read_only=True, tmpfs={"/tmp": "rw,size=64m"},
                mem_limit=f"{o.memory_mb}m", nano_cpus=int(o.cpus * 1e9), cap_drop=["ALL"],
                security_opt=["no-new-privileges"], device_requests=gpus,
                ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", spec.port)},
                volumes={str(spec.model_dir): {"bind": "/model", "mode": "ro"}},
                labels={"mlopslab": "serving", **spec.labels},
                healthcheck={"test": HEALTH, "interval": 2 * SECOND, "timeout": 3 * SECOND, "retries": 3,
                             "start_period": 5 * SECOND})
        except docker.errors.DockerException as e:
            raise DeployError(f"docker could not start version {spec.version}: {e}") from e
        return Replica(self.kind, container.id, spec.version, f"http://127.0.0.1:{spec.port}", spec.port)

    def on_ready(self, replica: Replica) -> None:
        self._container(replica).update(restart_policy={"Name": "on-failure", "MaximumRetryCount": 5})

    def alive(self, replica: Replica) -> bool:
        container = self._container(replica)
        return container is not None and container.status == "running"

    def stop(self, replica: Replica) -> None:
        import docker.errors

        container = self._container(replica)
        if container is None:
            return
        try:
            container.update(restart_policy={"Name": "no"})
            container.stop(timeout=STOP_TIMEOUT_S)  # SIGTERM through the init: the server drains
            container.remove(force=True)
        except docker.errors.NotFound:
            pass

    def logs(self, replica: Replica, spec_dir: Path, tail: int = 20) -> str:
        container = self._container(replica)
        return container.logs(tail=tail).decode(errors="replace") if container is not None else ""

    def _container(self, replica: Replica) -> Any:
        import docker.errors

        try:
            return self.client.containers.get(replica.handle)
        except docker.errors.NotFound:
            return None
