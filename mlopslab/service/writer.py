"""Group commit: many writers, one DuckDB transaction per burst.

Callers hand a batch of typed events (core/events.py) to `submit` and block until the transaction holding it has
committed; only then is the batch acknowledged. While one transaction commits,
new batches queue up and go together in the next one, so throughput grows with
load without adding latency when idle.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from mlopslab.core.events import LogsWritten, MetricsLogged

if TYPE_CHECKING:
    from mlopslab.core.events import Event
    from mlopslab.store.db import Store

_STOP = object()


class GroupWriter:
    def __init__(self, store: Store, max_rows: int = 100_000) -> None:
        self._store = store
        self._max_rows = max_rows
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="group-writer", daemon=True)
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch_id: str | None, events: Sequence[Event]) -> Future[bool]:
        future: Future[bool] = Future()
        self._queue.put((batch_id, list(events), future))
        return future

    def write(self, batch_id: str | None, events: Sequence[Event]) -> bool:
        """Write and wait for the commit; True when the batch was new."""
        return self.submit(batch_id, events).result()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            pending, stop = self._drain([first])
            self._commit(pending)
            if stop:
                return

    def _drain(self, pending: list[Any]) -> tuple[list[Any], bool]:
        rows = sum(_size(item[1]) for item in pending)
        while rows < self._max_rows:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return pending, False
            if item is _STOP:
                return pending, True
            pending.append(item)
            rows += _size(item[1])
        return pending, False

    def _commit(self, pending: list[Any]) -> None:
        try:
            fresh = self._store.write([(batch_id, events) for batch_id, events, _ in pending])
        except Exception as e:  # noqa: BLE001 - every waiter must hear about it
            for _, _, future in pending:
                future.set_exception(e)
            return
        self.commits += 1
        for (_, _, future), new in zip(pending, fresh, strict=True):
            future.set_result(new)


def _size(events: Sequence[Event]) -> int:
    """Rows a batch adds, about: its points and lines, and one per event."""
    return sum(1 + (len(e.points) if isinstance(e, MetricsLogged)
                    else len(e.lines) if isinstance(e, LogsWritten) else 0) for e in events)
