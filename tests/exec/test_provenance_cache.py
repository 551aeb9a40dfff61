"""A run's dependency record is read once per process, yet a package installed while
the process lives (a new .dist-info on sys.path) shows in the next run's record."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlopslab.exec import provenance


def test_a_package_installed_mid_process_changes_the_next_record(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = provenance.dependencies()
    assert provenance.dependencies() == before  # read once: the same record
    info = tmp_path / "freshly_installed-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: freshly-installed\nVersion: 1.2.3\n")
    after = provenance.dependencies()
    assert after["distributions"] == before["distributions"] + 1
    assert after["environment_sha256"] != before["environment_sha256"]
    assert sys.path[0] == str(tmp_path)
