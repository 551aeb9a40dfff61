"""The deployment commands end to end: registry refs, the real CLI and lab service, process backend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab, mlopslab_json


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    the_lab = init_lab(tmp_path_factory.mktemp("deploy-cli") / "lab", "dep")  # no run: Ray is not needed
    yield the_lab
    mlopslab(the_lab, "undeploy", "web", check=False)
    daemon.stop(the_lab, stop_ray=False)


def _classifiers(folder: Path) -> tuple[Path, list[Path]]:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    data = folder / "holdout.csv"
    np.savetxt(data, np.column_stack([x, y]), delimiter=",", header="f0,f1,f2,f3,target", comments="",
               fmt=["%.6f"] * 4 + ["%d"])
    files = []
    for i, c in enumerate((1.0, 0.01)):
        model = LogisticRegression(C=c).fit(x, y)
        onnx_model = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 4]))],
                                     options={id(model): {"zipmap": False}})
        files.append(folder / f"clf{i + 1}.onnx")
        files[-1].write_bytes(onnx_model.SerializeToString())
    return data, files


def _infer(endpoint: str, x: np.ndarray) -> dict[str, object]:
    body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}
    reply = httpx.post(f"{endpoint}/v2/models/clf/infer", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return {o["name"]: o["data"] for o in reply.json()["outputs"]} | {"version": reply.json()["model_version"]}


def test_deploy_update_rollback_and_undeploy_from_the_registry(lab: Lab, tmp_path: Path) -> None:
    data, files = _classifiers(tmp_path)
    for f in files:
        mlopslab_json(lab, "models", "register", "--file", str(f), "--name", "clf", "--data", str(data),
                      "--target", "target")
    first = mlopslab_json(lab, "deploy", "clf@1", "--name", "web", "--watch", "5")
    endpoint = first["endpoint"]
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    got = _infer(endpoint, x)
    want = ort.InferenceSession(str(files[0]), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    assert got["version"] == "1" and got["label"] == want[0].tolist()
    np.testing.assert_allclose(np.array(got["probabilities"]).reshape(6, 2), want[1], rtol=1e-6)

    second = mlopslab_json(lab, "deploy", "clf@2", "--name", "web")
    assert (second["endpoint"], second["active_version"], second["previous_version"]) == (endpoint, "2", "1")
    assert _infer(endpoint, x)["version"] == "2"

    # lineage walks from the deployment up to both versions (and their data), and back down
    up = mlopslab_json(lab, "lineage", "deployment:web")["upstream"]
    assert {"model:clf@1", "model:clf@2"} <= {n["ref"] for n in up["nodes"]}
    assert any(n["ref"].startswith("data:") for n in up["nodes"])
    down = mlopslab_json(lab, "lineage", "model:clf@1")["downstream"]
    assert ("model:clf@1", "deployment:web") in {(e["source"], e["target"]) for e in down["edges"]}

    rolled = mlopslab_json(lab, "rollback", "web", "--reason", "test")
    assert rolled["active_version"] == "1" and rolled["rollback_s"] < 1.0
    assert _infer(endpoint, x)["version"] == "1"

    mlopslab(lab, "lab", "stop")  # the endpoint does not depend on the lab service
    assert _infer(endpoint, x)["version"] == "1"
    shown = mlopslab_json(lab, "deployments", "show", "web")  # a new service finds it again
    assert shown["active_version"] == "1" and shown["gateway"]["alive"]
    time.sleep(1.5)  # the service's writer commits its group
    kinds = [e["kind"] for e in mlopslab_json(lab, "deployments", "show", "web")["events"]]
    assert kinds.count("deployed") == 2 and "rolled_back" in kinds
    assert [d["name"] for d in mlopslab_json(lab, "deployments", "ls")] == ["web"]

    assert mlopslab_json(lab, "undeploy", "web") == {"name": "web", "undeployed": True}
    assert mlopslab_json(lab, "deployments", "ls") == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{endpoint}/v2/health/live", timeout=2)
    missing = mlopslab(lab, "rollback", "web", check=False)
    assert missing.returncode == 7 and "no deployment 'web'" in missing.stderr
