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
    assert not (lab.state / "ray.json").exists(), "the demo left its Ray cluster running"
    mlopslab(lab, "lab", "stop")
