"""What the docker backend promises about each container, checked on the real engine."""

from __future__ import annotations

from pathlib import Path

from mlopslab.core.deployments import ServingOptions
from mlopslab.deploy.backend import ReplicaSpec
from mlopslab.deploy.deployments import _wait_ready
from mlopslab.deploy.docker import DockerBackend


def test_containers_are_locked_down_and_labelled(docker_backend: DockerBackend, tmp_path: Path,
                                                 models: dict[str, Path]) -> None:
    from mlopslab.deploy.backend import free_port

    folder = tmp_path / "v1"
    folder.mkdir(mode=0o755)
    (folder / "model.onnx").write_bytes(models["v1"].read_bytes())
    spec = ReplicaSpec("d", "1", "iris", folder, free_port(), ServingOptions(memory_mb=512, cpus=0.5),
                       {"mlopslab.deployment": "d", "mlopslab.version": "1"})
    replica = docker_backend.start(spec)
    try:
        assert _wait_ready(replica, docker_backend, 60) is None
        docker_backend.on_ready(replica)
        c = docker_backend.client.containers.get(replica.handle)
        host = c.attrs["HostConfig"]
        assert c.attrs["Config"]["User"] == "10001:10001"
        assert host["ReadonlyRootfs"] is True and host["Init"] is True
        assert host["Memory"] == 512 * 1024 * 1024 and host["NanoCpus"] == 500_000_000
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
        assert host["RestartPolicy"]["Name"] == "on-failure"
        assert host["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(spec.port)}]
        assert c.labels["mlopslab.deployment"] == "d" and c.labels["mlopslab.version"] == "1"
        assert c.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD"
        assert c.exec_run(["id", "-u"]).output.strip() == b"10001"
        assert c.exec_run(["touch", "/opt/x"]).exit_code != 0  # read-only root filesystem
    finally:
        docker_backend.stop(replica)
    assert not docker_backend.alive(replica)
