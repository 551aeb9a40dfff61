"""`lab start --gpus N` says that it restarts the service and Ray; `queue` says what the
cluster offers even when nothing waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.lab import Lab, init_lab
from tests.conftest import mlopslab


def test_queue_when_empty_shows_the_clusters_capacity(lab: Lab) -> None:
    done = mlopslab(lab, "queue")
    assert "queue: empty" in done.stdout and "2 GPUs, 8 CPUs" in done.stdout
    assert "quota ls" in done.stdout  # where the GPU-hours are


@pytest.mark.slow
def test_lab_start_gpus_says_it_restarts_the_service_and_ray(tmp_path: Path) -> None:
    the_lab = init_lab(tmp_path / "lab", "gpus")
    try:
        mlopslab(the_lab, "lab", "start")
        done = mlopslab(the_lab, "lab", "start", "--gpus", "2")
        assert "restarting the lab service and its local Ray cluster to advertise 2 GPUs" in done.stderr
        assert "ray.num_gpus = 2 written to" in done.stderr
        assert "num_gpus = 2" in (the_lab.root / "mlopslab.toml").read_text()
        again = mlopslab(the_lab, "lab", "start", "--gpus", "2")
        assert "restarting" not in again.stderr  # nothing changes, nothing restarts
    finally:
        mlopslab(the_lab, "lab", "stop", check=False)
