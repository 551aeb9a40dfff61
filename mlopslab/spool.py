"""A durable spool for writes that cannot reach the lab service.

Each undeliverable batch becomes one file, written to a temporary name, fsynced and
renamed, so a reader never sees half a batch. The service ingests the spool when it
starts and every few seconds; batch ids make delivery idempotent. A file holds the
events in their wire form (core/events.py), the one the `write` operation carries, so
files spooled by an older mlopslab are read by this one.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlopslab.core.errors import EventError
from mlopslab.core.events import Event, events_from_json, events_to_json


def spool_batch(folder: Path, batch_id: str, events: Sequence[Event]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{batch_id}.json"
    temp = folder / f".{batch_id}.tmp"
    with open(temp, "w") as f:
        json.dump({"batch_id": batch_id, "events": events_to_json(events)}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, final)
    _fsync_dir(folder)
    return final


def spooled(folder: Path) -> Iterator[tuple[Path, str, list[Event]]]:
    """Complete spooled batches, oldest first. A batch this version cannot read (an event
    kind it does not know) stays in the folder for one that can, and is said on stderr."""
    if not folder.is_dir():
        return
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    for path in files:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        try:
            events = events_from_json(data["events"])
        except EventError as e:
            print(f"spooled batch {path.name} left for later: {e.message}", file=sys.stderr, flush=True)
            continue
        yield path, data["batch_id"], events


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
