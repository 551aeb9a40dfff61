"""Run statuses and what each means to a shell."""

from __future__ import annotations

ACTIVE = ("queued", "starting", "running")
HOLDING = ("starting", "running")  # admitted by the scheduler: holds its resources
FINAL = ("finished", "failed", "timed_out", "killed", "cancelled")
EXIT_CODES = {"finished": 0, "failed": 1, "timed_out": 124, "cancelled": 130, "killed": 137}
RESUMABLE = ("failed", "timed_out", "killed")
"""Statuses `mlopslab run --resume` accepts: the run ended without finishing and not by
a user's choice. A finished run has nothing left to do, an active one is still going,
and a cancelled one was stopped on purpose: those start over as a new run instead."""
INTERRUPTED = 130
"""`mlopslab run` stopped following on Ctrl-C (the run goes on): 128 + SIGINT."""


def exit_code(status: str, recorded: int | None = None) -> int:
    """The exit code `mlopslab run` (and a run process) ends with for a run's status.

    `recorded` is the code a failed run's error carried (3: its data failed
    validation, 6: Ray could not be reached), when the run recorded one.
    """
    if status == "failed" and recorded:
        return recorded
    return EXIT_CODES.get(status, 1)
