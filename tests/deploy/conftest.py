"""Backends and proxies for the deployment contract tests: process always, docker where an engine answers;
the Python gateway always, HAProxy where installed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlopslab.core.events import DeploymentHappening
from mlopslab.deploy import haproxy
from mlopslab.deploy.backend import Backend
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.process import ProcessBackend
from tests.serving import onnx_models


@pytest.fixture(scope="session")
def docker_backend() -> Backend:
    docker = pytest.importorskip("mlopslab.deploy.docker")
    DockerBackend, engine_problem = docker.DockerBackend, docker.engine_problem

    problem = engine_problem()
    if problem and os.environ.get("MLOPSLAB_REQUIRE_DOCKER"):  # CI: a missing engine is a failure
        pytest.fail(f"no Docker engine, but MLOPSLAB_REQUIRE_DOCKER is set: {problem}")
    if problem:
        pytest.skip(f"no Docker engine: {problem}")
    return DockerBackend.for_tests()


@pytest.fixture(params=["process", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_backend")
    return str(request.param)


@pytest.fixture(params=["python", "haproxy"])
def proxy(request: pytest.FixtureRequest) -> str:
    """What carries the endpoint's traffic; HAProxy where installed (CI installs it: missing, it fails there)."""
    if request.param == "haproxy" and haproxy.binary() is None:
        if os.environ.get("MLOPSLAB_REQUIRE_DOCKER"):  # CI: the product path must be tested
            pytest.fail("no haproxy on PATH, but MLOPSLAB_REQUIRE_DOCKER is set (CI installs the Debian package)")
        pytest.skip("no haproxy on PATH: the endpoint through HAProxy is not tested (apt-get install haproxy)")
    return str(request.param)


@pytest.fixture
def deployments(tmp_path: Path, backend: str, proxy: str, request: pytest.FixtureRequest) -> Iterator[Deployments]:
    backends: dict[str, Backend] = {"process": ProcessBackend()}
    if backend == "docker":
        backends["docker"] = request.getfixturevalue("docker_backend")
    events: list[DeploymentHappening] = []
    made = Deployments(tmp_path / "deployments", backends, on_event=events.append, proxy=proxy)
    made.events = events  # type: ignore[attr-defined]
    yield made
    for name in made.names():
        made.undeploy(name)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("deploy-models")
    return {"v1": onnx_models.mlp(d / "v1.onnx", 1.0), "v2": onnx_models.mlp(d / "v2.onnx", 2.0),
            "broken": onnx_models.broken(d / "broken.onnx"),
            "fails": onnx_models.fails_on_real_data(d / "fails.onnx")}
