"""Drift for real: a deployed model server samples its inputs, the lab service collects
them and checks windows against the training data's profile. Inputs drawn from the
training distribution raise no alarm over many windows (counted); shifted inputs raise
one drift alert and a review item, and never start a retraining run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.drift import DriftPolicy, FeatureScore, decide
from mlopslab.core.drift_reports import DriftReport
from mlopslab.lab import Lab, init_lab
from tests.conftest import configure, mlopslab, mlopslab_json
from tests.monitor.test_monitor_service import until

FEATURES = ["f0", "f1", "f2", "f3", "amount", "plan"]
WINDOW = 200
CALM_WINDOWS = 60
PLAN_P = [0.4, 0.3, 0.15, 0.1, 0.05]


def draw(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """The training distribution: four normals, a lognormal amount and a 5-valued plan;
    `shift` moves f0 by that many standard deviations."""
    return np.column_stack([rng.normal(size=n) + shift, rng.normal(size=n), rng.normal(size=n),
                            rng.normal(size=n), rng.lognormal(size=n),
                            rng.choice(5, size=n, p=PLAN_P)]).astype(np.float32)


def model_files(folder: Path) -> tuple[Path, Path]:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    x = draw(np.random.default_rng(0), 5000).astype(np.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    train = folder / "train.csv"
    np.savetxt(train, np.column_stack([x, y]), delimiter=",", header=",".join([*FEATURES, "target"]),
               comments="", fmt=["%.6f"] * 4 + ["%.6f", "%d", "%d"])
    model = LogisticRegression().fit(x, y)
    onnx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, len(FEATURES)]))],
                           options={id(model): {"zipmap": False}})
    path = folder / "clf.onnx"
    path.write_bytes(onnx.SerializeToString())
    return train, path


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[Lab, str]]:
    lab = configure(init_lab(tmp_path / "lab", "drift"),
                    monitor={"alerts_interval_s": 0.5, "serving_interval_s": 0.5},
                    drift={"interval_s": 0.5, "window_rows": WINDOW, "k": 3, "n": 5},
                    retrain={"deployment": {"web": {"min_value": 0.9}}})
    train, onnx = model_files(tmp_path)
    mlopslab_json(lab, "models", "register", "--file", str(onnx), "--name", "clf", "--train-data",
                  str(train), "--data", str(train), "--target", "target")
    endpoint = mlopslab_json(lab, "deploy", "clf@1", "--name", "web")["endpoint"]
    yield lab, endpoint
    mlopslab(lab, "undeploy", "web", check=False)
    daemon.stop(lab, stop_ray=False)


def send(client: LabClient, endpoint: str, rows: np.ndarray) -> None:
    """Serve `rows` 100 at a time, letting the lab collect every 2,000 (the server's ring
    keeps 10,000)."""
    before = client.drift.report("web").rows_collected
    for start in range(0, len(rows), 2000):
        for part in np.array_split(rows[start:start + 2000], 20):
            body = {"inputs": [{"name": "input", "shape": list(part.shape), "datatype": "FP32",
                                "data": part.ravel().tolist()}]}
            reply = httpx.post(f"{endpoint}/v2/models/clf/infer", json=body, timeout=10)
            assert reply.status_code == 200, reply.text
        sent = before + start + len(rows[start:start + 2000])

        def collected(sent: int = sent) -> bool:
            return client.drift.report("web").rows_collected >= sent
        until(collected, timeout=30)


def checked(client: LabClient, windows: int) -> DriftReport:
    def enough() -> DriftReport | None:
        report = client.drift.report("web", windows=1000)
        return report if len(report.history) >= windows else None
    return until(enough, timeout=60)


def false_alarms(report: DriftReport) -> int:
    """Times, window by window, that k of the last n windows drifted."""
    history = list(reversed(report.history))  # oldest first
    policy = DriftPolicy(window_rows=WINDOW, k=3, n=5)
    flags = [[FeatureScore("any", "numeric", drifted=w.drifted)] for w in history]
    return sum(decide(flags[:i + 1], policy).drifting for i in range(len(flags)))


async def deployments_screen(lab: Lab) -> str:
    """The TUI's Deployments screen at 120x36 (at the real time), once its panels are filled."""
    from tests.tui.conftest import make_app
    from tests.tui.scenarios import settle
    from tests.tui.test_fit import lines

    app = make_app(lab, start="deployments", clock=time.time)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        return "\n".join(lines(app))


def test_unshifted_inputs_raise_no_drift_and_shifted_ones_alert_without_retraining(
        deployed: tuple[Lab, str], monkeypatch: pytest.MonkeyPatch) -> None:
    lab, endpoint = deployed
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(1)
    with LabClient(lab) as client:
        send(client, endpoint, draw(rng, CALM_WINDOWS * WINDOW))
        calm = checked(client, CALM_WINDOWS)
        assert calm.reference is not None and calm.reference.features == FEATURES
        assert calm.reference.kinds == ["numeric"] * 5 + ["categorical"]
        assert calm.rows_collected == CALM_WINDOWS * WINDOW and calm.rows_dropped == 0
        drifted = sum(w.drifted for w in calm.history)
        print(f"unshifted: {drifted} of {len(calm.history)} windows drifted, "
              f"{false_alarms(calm)} false alarms")
        assert false_alarms(calm) == 0 and drifted <= 3  # alpha 0.01 per window: about 0.6 expected
        assert calm.status == "stable" and not calm.drifting
        assert not [a for a in client.monitor.alerts(all=True) if a.rule == "drift"]

        send(client, endpoint, draw(rng, 5 * WINDOW, shift=1.0))
        alert = until(lambda: [a for a in client.monitor.alerts() if a.rule == "drift"], timeout=30)[0]
        assert alert.subject == "deployment:web" and "f0 (" in alert.message
        shifted = client.drift.report("web")
        assert shifted.status == "drifting" and shifted.latest is not None
        f0 = next(s for s in shifted.latest.features if s.feature == "f0")
        assert f0.drifted and f0.ks is not None and f0.ks_threshold is not None and f0.ks > f0.ks_threshold
        assert shifted.latest.drifted_features == ["f0"]
        assert len(shifted.reviews) == 1 and shifted.reviews[0].features[0] == "f0"
        assert client.runs.list() == [] and client.monitor.decisions() == []

        shown = mlopslab(lab, "drift", "web")
        assert "drifting" in shown.stdout and "f0" in shown.stdout
        table = shown.stdout.split("\n\n")[1].splitlines()
        assert table[1].startswith("FEATURE") and "f0 " in table[2] and table[2].endswith("yes")
        assert max(len(line) for line in table) <= 80
        as_json = mlopslab_json(lab, "drift", "web")
        assert as_json["status"] == "drifting" and as_json["latest"]["features"][0]["feature"] == "f0"

        panels = asyncio.run(deployments_screen(lab))
        assert "drift  drifting  5 of the last 5 windows drifted (alert at 3 of 5)" in panels, panels
        f0_line = next(line for line in panels.splitlines() if line.strip().startswith("f0"))
        assert "KS 0.4" in f0_line and "> 0.1" in f0_line, f0_line
        assert "5 of 6 features within their thresholds" in panels
        assert "last hour  req/s" in panels

        send(client, endpoint, draw(rng, 5 * WINDOW))  # the inputs are back: the alert resolves
        until(lambda: not [a for a in client.monitor.alerts() if a.rule == "drift"], timeout=30)
        assert client.runs.list() == []
