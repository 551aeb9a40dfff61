"""Exactly one ONNX Runtime per install, and `lab status` says which and what it runs on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from mlopslab.evaluation.runtime import runtime_info
from mlopslab.lab import init_lab

REPO = Path(__file__).resolve().parents[1]
RUNTIMES = ("onnxruntime", "onnxruntime-gpu")


def _names(requirements: list[str]) -> list[str]:
    import re

    return [re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements]


def test_each_install_gets_exactly_one_runtime() -> None:
    """`onnxruntime` and `onnxruntime-gpu` overwrite each other's module: the base
    dependencies hold neither, the `cpu` and `gpu` extras one each, no other extra any."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not set(_names(project["dependencies"])) & set(RUNTIMES)
    extras = {name: set(_names(reqs)) & set(RUNTIMES)
              for name, reqs in project["optional-dependencies"].items()}
    assert extras.pop("cpu") == {"onnxruntime"}
    assert extras.pop("gpu") == {"onnxruntime-gpu"}
    assert not any(extras.values()), extras


def test_this_install_is_sound_and_reports_its_providers() -> None:
    info = runtime_info()
    assert len(info["packages"]) == 1 and info["problem"] is None
    assert "CPUExecutionProvider" in info["providers"]


def _status(lab_root: Path, extra_path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab_root), "lab", "status"],
                          capture_output=True, text=True, env=env, check=False)


def test_lab_status_names_the_runtime_and_warns_when_both_are_installed(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "lab", "rt")
    done = subprocess.run([sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "lab", "status",
                           "--json"], capture_output=True, text=True, check=False)
    runtime = json.loads(done.stdout)["onnxruntime"]
    assert "CPUExecutionProvider" in runtime["providers"] and runtime["problem"] is None
    assert "onnx runtime" in _status(lab.root).stdout
    # a second runtime recorded the way pip records an install (a dist-info folder)
    site = tmp_path / "site"
    info = site / "onnxruntime_gpu-1.31.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: 1.31.0\n")
    shown = _status(lab.root, str(site))
    assert "both onnxruntime and onnxruntime-gpu are installed" in shown.stdout
