"""`mlopslab demo`: the README's main command, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json


@pytest.mark.ray
@pytest.mark.slow
def test_demo_makes_a_lab_runs_the_recipes_and_cleans_up(tmp_path: Path) -> None:
    done = mlopslab(None, "demo", str(tmp_path / "demo"), timeout=600)
    assert "made a lab" in done.stdout and "done in" in done.stdout
    lab = Lab(tmp_path / "demo")
    runs = mlopslab_json(lab, "runs", "ls")
    assert sorted(r["recipe"] for r in runs) == ["mlp-digits", "tabular-classifier",
                                                 "tabular-classifier"]
    assert all(r["status"] == "finished" for r in runs)
    # the models were promoted through their gates, deployed blue/green and rolled back
    assert "champion is now breast-cancer@1" in done.stdout
    assert "version 1 predicts" in done.stdout and "version 2 predicts" in done.stdout
    assert "switched back in" in done.stdout
    versions = mlopslab_json(lab, "models", "ls", "breast-cancer")
    assert len(versions) == 2
    assert mlopslab_json(lab, "deployments", "ls") == [], "the demo left its deployment running"
    assert not (lab.state / "ray.json").exists(), "the demo left its Ray cluster running"
    mlopslab(lab, "lab", "stop")
