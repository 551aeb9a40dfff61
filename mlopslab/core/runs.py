"""Run statuses, what each means to a shell, and the event that changes a run."""

from __future__ import annotations

from typing import Any

from mlopslab.core.events import RunUpdated

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


def run_update(run_id: str, only_active: bool = False, only_if: tuple[str, ...] = (),
               **fields: Any) -> RunUpdated:
    """A change of a run's fields; with only_active/only_if, applied only in those statuses
    (so a final status, once written, is never overwritten)."""
    conditional = only_active or bool(only_if)
    return RunUpdated(run_id=run_id, fields=fields,
                      only_if_status=list(only_if or ACTIVE) if conditional else None)
