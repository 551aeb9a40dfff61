"""The layering in pyproject.toml ([tool.importlinter]) holds: `lint-imports` keeps every contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")  # the venv's console script
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]' (import-linter)")
    return found


def test_every_import_contract_is_kept() -> None:
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"lint-imports found a broken contract:\n{done.stdout}{done.stderr}"
    assert "0 broken" in done.stdout, done.stdout
