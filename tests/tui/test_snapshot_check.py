"""The snapshot check itself (tests.tui.scenarios.check_snapshot): it records only
when asked, so a missing snapshot fails instead of passing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.scenarios import UPDATE_SNAPSHOTS, check_snapshot


def test_a_missing_snapshot_fails_and_records_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE_SNAPSHOTS, raising=False)
    snapshots = tmp_path / "__snapshots__"
    with pytest.raises(pytest.fail.Exception, match="no snapshot"):
        check_snapshot("new", "<svg/>\n", tmp_path, snapshots)
    assert not (snapshots / "new.svg").exists()
    assert (tmp_path / "new.actual.svg").read_text() == "<svg/>\n"


def test_a_different_snapshot_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE_SNAPSHOTS, raising=False)
    (tmp_path / "old.svg").write_text("<svg>old</svg>\n")
    with pytest.raises(pytest.fail.Exception, match="looks different"):
        check_snapshot("old", "<svg>new</svg>\n", tmp_path, tmp_path)
    check_snapshot("old", "<svg>old</svg>\n", tmp_path, tmp_path)  # the same passes


def test_recording_is_asked_for_with_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPDATE_SNAPSHOTS, "1")
    snapshots = tmp_path / "__snapshots__"
    check_snapshot("new", "<svg/>\n", tmp_path, snapshots)
    assert (snapshots / "new.svg").read_bytes() == b"<svg/>\n"
