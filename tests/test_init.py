"""`mlopslab init` makes a complete lab: config, recipes and the migrated store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from mlopslab.store.migrations import LATEST


def test_init_makes_the_store_at_the_latest_schema(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mlopslab", "init", str(tmp_path / "lab"), "--json"],
                          capture_output=True, text=True, check=True)
    made = json.loads(done.stdout)
    store = Path(made["lab"]) / "lab.duckdb"
    assert store.is_file()  # before any service ever started
    with duckdb.connect(str(store), read_only=True) as con:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        assert version is not None and version[0] == LATEST
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
