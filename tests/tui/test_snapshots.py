"""How every screen looks, compared with the SVGs in __snapshots__/ (fixed clock,
seeded runs, replayed GPU samples). After an intended change of looks:

    MLOPSLAB_UPDATE_SNAPSHOTS=1 python -m pytest tests/tui/test_snapshots.py

and look at the new SVGs before committing them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlopslab.lab import Lab
from mlopslab.service import daemon
from tests.tui.conftest import SNAPSHOTS, make_seeded_lab
from tests.tui.scenarios import SCENARIOS, Scenario, play

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def snapshot_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = make_seeded_lab(tmp_path_factory.mktemp("snap") / "lab", 500)
    yield lab
    daemon.stop(lab, stop_ray=False)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_screen_looks_as_recorded(snapshot_lab: Lab, scenario: Scenario, tmp_path: Path) -> None:
    svg = await play(snapshot_lab, scenario)
    expected = SNAPSHOTS / f"{scenario.name}.svg"
    if os.environ.get("MLOPSLAB_UPDATE_SNAPSHOTS") or not expected.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        expected.write_text(svg)
        return
    if svg != expected.read_text():
        actual = tmp_path / f"{scenario.name}.actual.svg"
        actual.write_text(svg)
        pytest.fail(f"{scenario.name} looks different: compare {actual} with {expected}")
