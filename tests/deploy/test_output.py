"""What the deployment commands print: the stable endpoint whole and first, replica
addresses marked internal, and a history that reads as sentences. Real CLI, real service."""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Iterator

import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json
from tests.deploy.test_cli import _classifiers


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("deploy-output")
    the_lab = init_lab(folder / "lab", "out")
    data, files = _classifiers(folder)
    for f in files:
        mlopslab_json(the_lab, "models", "register", "--file", str(f), "--name", "clf", "--data", str(data),
                      "--target", "target")
    yield the_lab
    mlopslab(the_lab, "undeploy", "web", check=False)
    daemon.stop(the_lab, stop_ray=False)


def _urls(text: str) -> set[str]:
    return set(re.findall(r"http://127\.0\.0\.1:\d+", text))


def test_the_stable_endpoint_is_printed_whole_and_replicas_are_marked_internal(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    deployed = mlopslab(lab, "deploy", "clf@1", "--name", "web").stdout
    shown = mlopslab_json(lab, "deployments", "show", "web")
    endpoint = shown["endpoint"]
    assert deployed.splitlines()[0].endswith(endpoint), deployed  # the first thing said is where to call
    for text in (deployed, mlopslab(lab, "deployments", "show", "web").stdout,
                 mlopslab(lab, "deployments", "ls").stdout):
        assert endpoint in text, text
        for line in text.splitlines():
            if _urls(line) - {endpoint}:  # a replica's own address is never shown unmarked
                assert "internal" in line, line
    assert shown["replicas"] and all(r["internal"] is True for r in shown["replicas"])
    assert all(r["internal"] is True for d in mlopslab_json(lab, "deployments", "ls") for r in d["replicas"])
    assert _urls(str(shown["replicas"])) and endpoint not in str(shown["replicas"])


def test_deployment_events_read_as_sentences(lab: Lab) -> None:
    user = getpass.getuser()
    mlopslab(lab, "deploy", "clf@1", "--name", "web")
    mlopslab(lab, "deploy", "clf@2", "--name", "web")
    mlopslab(lab, "rollback", "web")
    mlopslab(lab, "rollback", "web", "--reason", "p99 too high")
    time.sleep(1.5)  # the service's writer commits its group
    text = mlopslab(lab, "deployments", "show", "web").stdout
    assert f"rolled back to v1 from v2 (asked by {user})" in text, text
    assert f"rolled back to v2 from v1 (asked by {user}: p99 too high)" in text, text
    assert f"deployed v2 (v1 stays warm) by {user}" in text, text
    assert "rolled_back" not in text and " asked\n" not in text
    events = mlopslab_json(lab, "deployments", "show", "web")["events"]
    assert [e["kind"] for e in events].count("rolled_back") == 2  # once each, not again from the gateway
