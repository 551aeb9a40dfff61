"""How every screen looks, compared with the SVGs in __snapshots__/ (fixed clock,
seeded runs, replayed GPU samples). A screen that looks different fails, and so
does one with no snapshot yet: nothing is recorded unless asked. After an intended
change of looks, or for a new scenario, record with

    MLOPSLAB_UPDATE_SNAPSHOTS=1 python -m pytest tests/tui/test_snapshots.py

and look at the new SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab
from tests.tui.conftest import make_seeded_lab
from tests.tui.scenarios import SCENARIOS, Scenario, check_snapshot, play

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def snapshot_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = make_seeded_lab(tmp_path_factory.mktemp("snap") / "lab", 500)
    yield lab
    daemon.stop(lab, stop_ray=False)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_screen_looks_as_recorded(snapshot_lab: Lab, scenario: Scenario, tmp_path: Path) -> None:
    check_snapshot(scenario.name, await play(snapshot_lab, scenario), tmp_path)
