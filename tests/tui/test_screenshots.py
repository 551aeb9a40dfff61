"""scripts/screenshots.py's SVG tidying: librsvg drops the no-break spaces a <text>
starts with, so words ran together in the PNGs (`○ ray idle▶ 3 active`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def load_tidy():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tidy


def test_leading_spaces_of_a_text_run_become_its_x() -> None:
    tidy = load_tidy()
    svg = ('<text class="r5" x="854" y="20" textLength="122" clip-path="url(#l0)">○&#160;ray&#160;idle</text>'
           '<text class="r6" x="976" y="20" textLength="146.4" clip-path="url(#l0)">&#160;&#160;▶&#160;3&#160;'
           'active</text>')
    out = tidy(svg)
    assert '>○&#160;ray&#160;idle</text>' in out and 'x="854"' in out  # no leading spaces: as it was
    assert 'x="1000.4" y="20" textLength="122" clip-path="url(#l0)">▶&#160;3&#160;active</text>' in out
    assert tidy(out) == out
