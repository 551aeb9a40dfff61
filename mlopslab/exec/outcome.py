"""How a run can end early. Its own module: the runner runs as `__main__`, and a
class defined there would not be the one other modules raise."""

from __future__ import annotations


class Stopped(Exception):
    """The run must end early with `status` (cancelled or timed out)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class StepFailed(Exception):
    """A recipe step raised: its traceback is in the run's log already (the step printed
    it); `summary` is its last line, `Type: message`; `exit_code` the one its error
    carried (2 for a step function that is not there), if any."""

    def __init__(self, step: str, summary: str, exit_code: int | None = None) -> None:
        super().__init__(f"step {step} failed: {summary}")
        self.step, self.summary, self.exit_code = step, summary, exit_code
