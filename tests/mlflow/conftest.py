"""One MLflow sqlite store per test session, logged by MLflow's own client with the
LOG script, and its reading by the READ script: what the lab must match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mlflow.scripts import LOG, READ


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(the sqlite file, what READ reads from it); copy the file before changing it."""
    from tests.mlflow.test_compat import run_script

    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    run_script(LOG, uri, folder / "log")
    return folder / "mlflow.db", json.loads(run_script(READ, uri, folder / "read"))
