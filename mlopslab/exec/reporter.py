"""What the plan of a run (plan.py, connect.py) needs from the process that drives it.

Protocols, so the plan depends on neither the run process (runner.py) nor the client
it reaches the lab service with: `RunReporter` is the channel the plan reports on,
`RunAttempt` adds the facts of the attempt it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mlopslab.core.cluster import ClusterInfo
    from mlopslab.core.events import Event
    from mlopslab.core.run import Run
    from mlopslab.lab import Lab


class RunReporter(Protocol):
    """Where a run's facts go: its log and its events."""

    def log(self, stream: str, text: str) -> None:
        """Lines of the run's log, printed too (stream `mlopslab`: the runner's own)."""

    def send(self, *events: Event) -> None:
        """Typed events of the run (core/events.py: DatasetVersioned, StepStarted, ...), sent as
        one batch after the log lines and points buffered so far."""


class RunAttempt(RunReporter, Protocol):
    """One attempt of a run: what it was submitted with, its time limit, its cluster."""

    run_id: str
    run: Run  # the run as the service returned it (params, seed, options, steps)
    lab: Lab
    limit_text: str  # the time limit as written ("30m"), for messages

    def remaining(self) -> float | None:
        """Seconds left before the time limit; None without one."""

    def cluster(self) -> ClusterInfo:
        """The lab's Ray cluster: address and token_path (a local one starts on first use)."""
