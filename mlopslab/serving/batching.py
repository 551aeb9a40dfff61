"""Dynamic batching behind a bounded queue.

Requests wait in one queue; a worker takes the first, waits up to `max_wait_s`
for more (until `max_batch_size` rows), concatenates their inputs along the first
axis, runs the model once in a worker thread and hands each request its rows.
Requests whose inputs cannot be stacked with the first (another trailing shape)
wait for the next batch. When `max_queue` requests are already waiting or running,
`submit` raises `Overloaded` at once: the server answers 503 instead of letting
every request slow down. Work on a batch's inputs that no answer waits for (feature
statistics, the drift sample) is `after`: it runs in its own thread once the batch's
requests have their rows, so it never delays an answer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

Arrays = dict[str, np.ndarray]


class Overloaded(Exception):
    """The queue is full."""


@dataclass
class _Item:
    feeds: Arrays
    rows: int
    future: asyncio.Future[Arrays]
    queued_at: float = field(default_factory=time.perf_counter)

    def key(self) -> tuple[tuple[str, tuple[int, ...], str], ...]:
        return tuple((n, a.shape[1:], a.dtype.str) for n, a in sorted(self.feeds.items()))


class Batcher:
    def __init__(self, run: Callable[[Arrays], Arrays], max_batch_size: int, max_wait_s: float,
                 max_queue: int, on_batch: Callable[[int, float], None] | None = None,
                 after: Callable[[Arrays], None] | None = None) -> None:
        self.run = run
        self.after = after
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait_s = max_wait_s if self.max_batch_size > 1 else 0.0
        self.max_queue = max_queue
        self.on_batch = on_batch or (lambda rows, seconds: None)
        self.pending = 0  # waiting or running
        self._queue: deque[_Item] = deque()
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="onnxruntime")
        self._after = ThreadPoolExecutor(1, thread_name_prefix="after-batch")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self._executor.shutdown(wait=False)
        self._after.shutdown(wait=False)

    async def submit(self, feeds: Arrays, rows: int) -> Arrays:
        if self.pending >= self.max_queue:
            raise Overloaded
        item = _Item(feeds, rows, asyncio.get_running_loop().create_future())
        self.pending += 1
        self._queue.append(item)
        self._wake.set()
        try:
            return await item.future
        finally:
            self.pending -= 1

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = await self._collect()
            started = time.perf_counter()
            try:
                merged = _merge(batch)
                values = await loop.run_in_executor(self._executor, self.run, merged)
            except Exception as e:  # noqa: BLE001 - the error belongs to the requests
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(e)
                continue
            self.on_batch(sum(i.rows for i in batch), time.perf_counter() - started)
            _split(batch, values)
            if self.after is not None:
                self._after.submit(self.after, merged)

    async def _collect(self) -> list[_Item]:
        first = self._queue.popleft()
        batch, rows, key = [first], first.rows, first.key()
        deadline = time.perf_counter() + self.max_wait_s
        while rows < self.max_batch_size:
            rows = self._take(batch, rows, key)
            left = deadline - time.perf_counter()
            if rows >= self.max_batch_size or left <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                self._take(batch, rows, key)
                break
        return batch

    def _take(self, batch: list[_Item], rows: int, key: object) -> int:
        skipped: list[_Item] = []
        while self._queue and rows < self.max_batch_size:
            item = self._queue.popleft()
            if item.key() != key or rows + item.rows > self.max_batch_size:
                skipped.append(item)
                continue
            batch.append(item)
            rows += item.rows
        self._queue.extendleft(reversed(skipped))
        return rows


def _merge(batch: list[_Item]) -> Arrays:
    if len(batch) == 1:
        return batch[0].feeds
    return {name: np.concatenate([i.feeds[name] for i in batch]) for name in batch[0].feeds}


def _split(batch: list[_Item], values: Arrays) -> None:
    total = sum(i.rows for i in batch)
    start = 0
    for item in batch:
        part = {name: (v[start:start + item.rows] if v.ndim and v.shape[0] == total and len(batch) > 1
                       else v) for name, v in values.items()}
        start += item.rows
        if not item.future.done():
            item.future.set_result(part)
