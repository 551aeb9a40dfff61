"""A run's dependency record is read once (per process, and kept in the user's cache
folder for the next run process), yet a package installed since (a new .dist-info in
a site-packages folder on sys.path) shows in the next run's record."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.exec import provenance


def test_a_package_installed_since_changes_the_next_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = provenance.dependencies()
    assert provenance.dependencies() == before  # read once: the same record
    provenance._dependencies.cache_clear()  # a new run process: from the cache folder
    assert list((tmp_path / "cache" / "mlopslab").glob("dependencies-*.json"))
    assert provenance.dependencies() == before
    info = site / "freshly_installed-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: freshly-installed\nVersion: 1.2.3\n")
    after = provenance.dependencies()
    assert after["distributions"] == before["distributions"] + 1
    assert after["environment_sha256"] != before["environment_sha256"]


def test_a_damaged_cache_file_is_read_again_from_the_distributions(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    provenance._dependencies.cache_clear()
    good = provenance.dependencies()
    for kept in (tmp_path / "cache" / "mlopslab").glob("dependencies-*.json"):
        kept.write_text("{not json")
    provenance._dependencies.cache_clear()
    assert provenance.dependencies() == good
