"""A sample of the server's inputs, for the lab's drift checks.

The server keeps the rows of one 2-D numeric input (the model's first) in a ring
buffer of `capacity` rows: a share `rate` of the rows of every batch (1.0: all of
them, 0: none), copied into preallocated memory under a lock after the batch ran.
No I/O, no allocation beyond the ring: a batch of 32 rows x 30 features costs a few
microseconds. Every sampled row gets the next sequence number (from 1); the lab
service asks for the rows after the last one it has (`GET /v2/samples?after=SEQ`).
Rows overwritten before anyone read them are counted as dropped, never made up.
`instance` changes with every start of the process (sequence numbers start again).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

MAX_ROWS_PER_READ = 10_000


class InputSampler:
    """The last `capacity` sampled rows of the input `name`."""

    def __init__(self, name: str, rate: float = 1.0, capacity: int = 10_000,
                 seed: int | None = None) -> None:
        self.name = name
        self.rate = min(max(rate, 0.0), 1.0)
        self.capacity = max(1, capacity)
        self.instance = os.urandom(8).hex()
        self.seen = 0  # rows of this input the server ran
        self.seq = 0  # rows sampled (the sequence number of the latest)
        self._rows: np.ndarray | None = None  # (capacity, columns), allocated on the first batch
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def observe(self, feeds: dict[str, np.ndarray]) -> None:
        """Keep a share of the rows of one batch (called after the model ran on it)."""
        array = feeds.get(self.name)
        if array is None or array.ndim != 2 or array.dtype.kind not in "fiub" or not array.shape[0]:
            return
        kept = array if self.rate >= 1.0 else array[self._rng.random(array.shape[0]) < self.rate]
        with self._lock:
            self.seen += array.shape[0]
            if not kept.shape[0] or self.rate <= 0.0:
                return
            if self._rows is None or self._rows.shape[1] != kept.shape[1]:
                self._rows = np.zeros((self.capacity, kept.shape[1]))
            kept = kept[-self.capacity:]
            start = self.seq % self.capacity
            first = min(kept.shape[0], self.capacity - start)
            self._rows[start:start + first] = kept[:first]
            self._rows[:kept.shape[0] - first] = kept[first:]
            self.seq += kept.shape[0]

    def after(self, seq: int, limit: int = MAX_ROWS_PER_READ) -> dict[str, Any]:
        """The rows sampled after sequence number `seq`, oldest first, at most `limit`."""
        limit = min(max(limit, 0), MAX_ROWS_PER_READ)
        with self._lock:
            oldest = max(1, self.seq - self.capacity + 1)
            first = max(seq + 1, oldest)
            count = max(0, min(self.seq - first + 1, limit))
            if self._rows is None or count == 0:
                rows = np.zeros((0, 0 if self._rows is None else self._rows.shape[1]))
            else:
                slots = (np.arange(first, first + count) - 1) % self.capacity
                rows = self._rows[slots]
            return {"instance": self.instance, "input": self.name, "rate": self.rate,
                    "capacity": self.capacity, "seen": self.seen, "sampled": self.seq,
                    "first_seq": first, "last_seq": first + count - 1,
                    "dropped": max(0, first - seq - 1) if seq < self.seq else 0,
                    "columns": int(rows.shape[1]), "rows": rows}


def sampled_input(inputs: list[Any]) -> str | None:
    """The input a server samples: the first 2-D numeric one (None: the model has none)."""
    for tensor in inputs:
        if len(tensor.shape) == 2 and tensor.datatype != "BOOL" and tensor.datatype != "BYTES":
            return str(tensor.name)
    return None
