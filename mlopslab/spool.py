"""A durable spool for writes that cannot reach the lab service.

Each undeliverable batch becomes one file, written to a temporary name, fsynced and
renamed, so a reader never sees half a batch. The service ingests the spool when it
starts and every few seconds; batch ids make delivery idempotent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def spool_batch(folder: Path, batch_id: str, events: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{batch_id}.json"
    temp = folder / f".{batch_id}.tmp"
    with open(temp, "w") as f:
        json.dump({"batch_id": batch_id, "events": events}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, final)
    _fsync_dir(folder)
    return final


def spooled(folder: Path) -> Iterator[tuple[Path, str, list[dict[str, Any]]]]:
    """Complete spooled batches, oldest first."""
    if not folder.is_dir():
        return
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    for path in files:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        yield path, data["batch_id"], data["events"]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
