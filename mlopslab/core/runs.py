"""Run statuses and what each means to a shell."""

from __future__ import annotations

ACTIVE = ("queued", "starting", "running")
HOLDING = ("starting", "running")  # admitted by the scheduler: holds its resources
FINAL = ("finished", "failed", "timed_out", "killed", "cancelled")
EXIT_CODES = {"finished": 0, "failed": 1, "timed_out": 124, "cancelled": 130, "killed": 137}


def exit_code(status: str) -> int:
    """The exit code `mlopslab run` (and a run process) ends with for a run's status."""
    return EXIT_CODES.get(status, 1)
