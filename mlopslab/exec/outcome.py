"""How a run can end early. Its own module: the runner runs as `__main__`, and a
class defined there would not be the one other modules raise."""

from __future__ import annotations


class Stopped(Exception):
    """The run must end early with `status` (cancelled or timed out)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
