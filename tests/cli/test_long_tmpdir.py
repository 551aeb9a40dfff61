"""A long TMPDIR must not break the local Ray cluster: its unix sockets (at most 107
bytes a path) live under a short folder, or the error says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlopslab.core.errors import ExecError
from mlopslab.lab import init_lab

NAME = "mlopslab-ray-0123456789"


def long_folder(tmp_path: Path) -> Path:
    folder = tmp_path / ("t" * max(1, 100 - len(str(tmp_path))))
    folder.mkdir()
    assert len(str(folder)) >= 100
    return folder


def test_ray_temp_dir_skips_folders_too_long_for_its_sockets(tmp_path: Path) -> None:
    from mlopslab.cluster import MAX_SOCKET_PATH, RAY_SOCKET_ROOM, ray_temp_dir

    long = long_folder(tmp_path)
    chosen = ray_temp_dir(NAME, [str(long), "/tmp"])
    assert chosen == Path("/tmp") / NAME
    assert len(str(chosen)) + RAY_SOCKET_ROOM <= MAX_SOCKET_PATH


def test_ray_temp_dir_says_why_when_no_folder_is_short_enough(tmp_path: Path) -> None:
    from mlopslab.cluster import ray_temp_dir

    long = long_folder(tmp_path)
    with pytest.raises(ExecError) as raised:
        ray_temp_dir(NAME, [str(long), str(tmp_path / "missing")])
    assert "short enough for Ray's unix sockets" in raised.value.message
    assert "107 bytes" in raised.value.message
    assert raised.value.hint and "RAY_TMPDIR" in raised.value.hint


@pytest.mark.slow
def test_a_lab_runs_a_recipe_with_a_long_tmpdir(tmp_path: Path) -> None:
    """Its own local cluster (not the session's), started and used with TMPDIR ~100 bytes."""
    lab = init_lab(tmp_path / "lab", "long")
    env = {**os.environ, "TMPDIR": str(long_folder(tmp_path))}
    env.pop("RAY_TMPDIR", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), *args],
                              capture_output=True, text=True, env=env, timeout=240, check=False)

    try:
        started = cli("lab", "start", "--ray", "--json")
        assert started.returncode == 0, started.stderr + (lab.state / "ray.log").read_text()[-2000:]
        run = cli("run", "tabular-classifier", "--set", "n_estimators=5", "--json")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["status"] == "finished"
    finally:
        cli("lab", "stop")


def test_a_lab_deep_in_the_tree_with_a_long_tmpdir_reaches_its_service(tmp_path: Path) -> None:
    """The service's socket falls back from the lab's folder to the temp folder, then /tmp."""
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "lab"
    lab = init_lab(deep, "deep")
    env = {**os.environ, "TMPDIR": str(long_folder(tmp_path))}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), *args],
                              capture_output=True, text=True, env=env, timeout=120, check=False)

    try:
        listed = cli("runs", "ls", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
    finally:
        cli("lab", "stop")
