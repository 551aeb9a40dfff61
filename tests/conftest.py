"""Shared fixtures: one real Ray cluster per test session, real labs in tmp_path.

Every lab made by `lab` points at the session's cluster (as a user's lab points
at an existing cluster with `ray.address`), so Ray starts once (5-10 s here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import daemon
from mlopslab.cluster import LocalCluster
from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab, init_lab

REPO = Path(__file__).resolve().parents[1]
CLUSTER_CPUS = 8  # logical: runs here mostly wait on sleeps and small models
CLUSTER_GPUS = 2  # logical GPUs: Ray places and isolates them as it would real ones


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[ClusterInfo]:
    state = Path(tempfile.mkdtemp(prefix="mlopslab-test-ray-"))
    cluster = LocalCluster(state, num_cpus=CLUSTER_CPUS, num_gpus=CLUSTER_GPUS)
    info = cluster.start()
    os.environ.update(info.env())
    yield info
    cluster.stop()


@pytest.fixture
def lab(tmp_path: Path, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    the_lab = configure(init_lab(tmp_path / "lab", "test", ray_address=ray_cluster.address),
                        ray={"num_cpus": CLUSTER_CPUS, "num_gpus": CLUSTER_GPUS})
    yield the_lab
    daemon.stop(the_lab, stop_ray=False)


def configure(lab: Lab, **sections: dict[str, Any]) -> Lab:
    """Change fields of a lab's config file (before its service starts); a fresh Lab."""
    from mlopslab.config import CONFIG_FILE, LabConfig, render_config

    raw = lab.config.model_dump()
    for section, fields in sections.items():
        raw[section].update(fields)
    (lab.root / CONFIG_FILE).write_text(render_config(LabConfig.model_validate(raw)))
    return Lab(lab.root)


def mlopslab(lab: Lab | None, *args: str, check: bool = True,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as a user would."""
    cmd = [sys.executable, "-m", "mlopslab", *(["--lab", str(lab.root)] if lab else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}\nstdout:\n{done.stdout}\n"
            f"stderr:\n{done.stderr}"
        )
    return done


def mlopslab_json(lab: Lab, *args: str, **kw: Any) -> Any:
    return json.loads(mlopslab(lab, *args, "--json", **kw).stdout)


def module_lab(factory: pytest.TempPathFactory, cluster: ClusterInfo, name: str) -> Iterator[Lab]:
    """A lab on the session's cluster for a module's tests; its service stopped after them.
    Use as `yield from module_lab(tmp_path_factory, ray_cluster, "name")` in a fixture."""
    the_lab = init_lab(factory.mktemp(name) / "lab", name, ray_address=cluster.address)
    yield the_lab
    daemon.stop(the_lab, stop_ray=False)
