"""mypy passes on the package, strict on the domain core and the operation table
(pyproject.toml [tool.mypy] and its overrides)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_package() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy", "mlopslab"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
