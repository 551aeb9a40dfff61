"""The CLI's --json: plain JSON data for scripts, with no table machinery (rich) loaded,
so a command asked for JSON starts quickly. Timestamps are ISO 8601 text in UTC."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlopslab.core.run import Attempt, Run


def print_json(value: Any) -> None:
    """Print a reply (nouns included) as the documented --json: plain JSON data,
    timestamps as ISO 8601 text in UTC ("2026-12-01T21:33:45+00:00")."""
    sys.stdout.write(json.dumps(iso_times(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


RUN_JSON_KEYS = (
    "id", "status", "reason", "recipe", "project", "user", "params", "metrics", "seed",
    "code_version", "data_version", "inputs", "artifacts", "steps", "resources", "deps", "host",
    "gpu_ids", "attempt", "priority", "queued_at", "started_at", "ended_at", "duration_s", "error",
    "recipe_path", "pid", "worker_pid", "kind", "args", "tags")


def run_json(run: Run) -> dict[str, Any]:
    """The documented `runs show --json` shape (without `attempts`)."""
    full = {**iso_times(run), "user": run.user_name, "queued_at": iso_times(run.waiting_since),
            "duration_s": duration(run), "kind": run.options.kind, "args": list(run.options.args)}
    return {k: full.get(k) for k in RUN_JSON_KEYS}


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """One attempt in `runs show --json`: its fields, then `duration_s`."""
    return {**iso_times(attempt), "duration_s": duration(attempt)}


def iso_times(value: Any) -> Any:
    """A noun (or a list of them) as plain JSON data with its timestamps as ISO 8601 text
    in UTC, "2026-12-01T21:33:45+00:00": how the runs and queue --json write them."""
    from mlopslab.api.wire import plain

    return _iso(plain(value))


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value


def duration(run: Run | Attempt) -> float | None:
    """Seconds from its start to its end (or to now, while it runs)."""
    start, end = run.started_at, run.ended_at
    if start is None:
        return None
    return round(((end or datetime.now(start.tzinfo)) - start).total_seconds(), 3)


def run_record(run: Run) -> dict[str, Any]:
    """`runs show --json` of one run: the documented keys, then `attempts`."""
    return {**run_json(run), "attempts": [attempt_json(a) for a in run.attempts or ()]}
