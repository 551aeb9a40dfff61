"""Dependencies point inward: the domain core imports no infrastructure or UI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CORE_DIR = Path(__file__).parents[1] / "mlopslab" / "core"
CORE = sorted(  # every module of the core, those of its packages (core/filters/) too
    ".".join(p.relative_to(CORE_DIR).with_suffix("").parts).removesuffix(".__init__")
    for p in CORE_DIR.glob("**/*.py") if p != CORE_DIR / "__init__.py"
)
FORBIDDEN = ["textual", "duckdb", "ray", "docker", "pynvml", "mlflow", "dvc", "onnxruntime",
             "mlopslab.store", "mlopslab.service", "mlopslab.exec", "mlopslab.cli"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_infrastructure(module: str) -> None:
    code = (
        f"import sys, mlopslab.core.{module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"mlopslab.core.{module} imports {done.stdout.strip()}"


def test_cli_help_is_fast_to_import() -> None:
    code = ("import sys, mlopslab.cli\n"
            "print(','.join(m for m in ('ray','duckdb','sklearn','torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
