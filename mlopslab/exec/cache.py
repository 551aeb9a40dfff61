"""Cached step outputs: `cache/steps/KEY/` holds `output.pkl` and `manifest.json`.

The manifest keeps what the step logged (metric points, artifacts) so that a cache
hit can replay it into the new run. Entries are written to a temporary folder and
renamed, so a half-written entry is never read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StepRecord:
    """What one execution of a step produced, besides its output."""

    metrics: list[list[Any]] = field(default_factory=list)  # [key, step, value]
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # name, sha256, size, kind
    gpu_ids: list[Any] = field(default_factory=list)
    output_sha256: str = ""


def load(root: Path, key: str) -> tuple[bytes, StepRecord] | None:
    entry = root / key
    try:
        output = (entry / "output.pkl").read_bytes()
        record = StepRecord(**json.loads((entry / "manifest.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return output, record


def store(root: Path, key: str, output: bytes, record: StepRecord) -> None:
    entry = root / key
    root.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    try:
        (temp / "output.pkl").write_bytes(output)
        (temp / "manifest.json").write_text(json.dumps(asdict(record)))
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(temp, entry)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
