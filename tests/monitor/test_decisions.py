"""The retraining loop on one machine, for real: labelled feedback below a deployment's
policy starts a run of its recipe on the newest data; the new version is gated against
the champion and deployed only if it passes; every step is stored and in lineage."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import LabClient
from mlopslab.core.decisions import Decision
from mlopslab.lab import Lab
from tests.conftest import configure, mlopslab, mlopslab_json
from tests.monitor.test_monitor_service import until

pytestmark = pytest.mark.ray


def rewrite(source: Path, target: Path, flip: bool = False, reverse: bool = False) -> Path:
    with source.open() as f:
        rows = list(csv.DictReader(f))
    if flip:
        for r in rows:
            r["target"] = str(1 - int(r["target"]))
    if reverse:
        rows.reverse()
    with target.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return target


def settled(client: LabClient, decision_id: str) -> Decision | None:
    found = [d for d in client.monitor.decisions() if d.id == decision_id]
    return found[0] if found and found[0].status not in ("retraining", "gating") else None


def test_feedback_below_the_policy_retrains_gates_and_deploys_only_what_passes(
        lab: Lab, tmp_path: Path) -> None:
    data = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    newer = rewrite(data, tmp_path / "newer.csv", reverse=True)  # same rows, a new order
    poisoned = rewrite(data, tmp_path / "poisoned.csv", flip=True)
    wrong = rewrite(data, tmp_path / "wrong-labels.csv", flip=True)
    lab = configure(lab, retrain={"deployment": {
        "bc": {"min_value": 0.9, "data": {"train": str(newer)}},
        "bc2": {"min_value": 0.9, "data": {"train": str(poisoned)}}}})
    run: dict[str, Any] = mlopslab_json(lab, "run", "tabular-classifier")
    assert run["status"] == "finished"
    with LabClient(lab) as client:
        until(lambda: any(m.name == "breast-cancer" for m in client.models.list()), timeout=60)
        mlopslab(lab, "promote", "breast-cancer@1")
        for name in ("bc", "bc2"):
            mlopslab_json(lab, "deploy", "breast-cancer@1", "--name", name)

        good = client.monitor.feedback("bc", str(data), actor="test")
        assert not good.feedback.below and good.decision is None
        assert good.feedback.metric == "accuracy" and good.feedback.value > 0.9

        bad = client.monitor.feedback("bc", str(wrong), actor="test")
        assert bad.feedback.below and bad.decision is not None
        assert bad.decision.status == "retraining" and bad.decision.run_id
        assert "below its threshold 0.9" in bad.decision.reason
        again = client.monitor.feedback("bc", str(wrong), actor="test")
        assert again.decision is None and "under way already" in again.why

        done = until(lambda: settled(client, bad.decision.id), timeout=300, every=1.0)
        assert done.status == "deployed", done.reason
        assert done.new_version == "breast-cancer@2" and done.report_id
        assert client.deployments.get("bc").active_version == "2"
        assert "champion" in client.models.version("breast-cancer@2").aliases
        retrain = client.runs.get(bad.decision.run_id)
        assert retrain.options.data["train"] == str(newer) and retrain.user_name == "retrain"

        down = mlopslab_json(lab, "lineage", "deployment:bc")["downstream"]
        edges = {(e["source"], e["target"], e["relation"]) for e in down["edges"]}
        assert ("deployment:bc", f"decision:{done.id}", "decided") in edges
        assert (f"decision:{done.id}", f"run:{retrain.id}", "retrained by") in edges

        # a retraining on poisoned labels fails its gates: bc2 keeps serving version 1
        rejected = client.monitor.feedback("bc2", str(wrong), actor="test").decision
        assert rejected is not None
        ended = until(lambda: settled(client, rejected.id), timeout=300, every=1.0)
        assert ended.status == "rejected", ended.reason
        assert "not promoted" in ended.reason and ended.report_id
        assert client.deployments.get("bc2").active_version == "1"
        assert "champion" in client.models.version("breast-cancer@2").aliases
        for name in ("bc", "bc2"):
            client.deployments.undeploy(name, actor="test")


def test_feedback_for_an_unknown_deployment_or_a_missing_file_is_refused(lab: Lab, tmp_path: Path) -> None:
    done = mlopslab(lab, "feedback", "nope", "--data", str(tmp_path / "x.csv"), check=False)
    assert done.returncode == 7 and "no deployment 'nope'" in done.stderr
    time.sleep(0)
