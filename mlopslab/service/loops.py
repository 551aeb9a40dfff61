"""The lab service's background loops: one way to repeat work until the service stops,
reporting a failed round on stderr (the service log) and going on."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def logged(what: str) -> Iterator[None]:
    """Report and swallow an error of one round: the loop must go on."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - the loop must go on
        print(f"{what} failed: {e!r}", file=sys.stderr, flush=True)


def every(interval_s: float, stopping: threading.Event, what: str, work: Callable[[], object]) -> None:
    """Run `work` every `interval_s` until `stopping` is set."""
    while not stopping.wait(interval_s):
        with logged(what):
            work()
