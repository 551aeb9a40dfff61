"""The lab service's watchdog: running runs over their GPU or host memory limit are killed.

Every `gpu.watchdog_interval_s` it reads per-process GPU memory from the GPU source
(NVML, or a replay) and host memory from the OS, sums both over the processes of
each running run's step (the Ray worker that runs it, and its children), and kills
a run over `gpu_memory_gb` or `memory_gb`: status `killed`, with the reason naming
the limit and the measured use. It also tells which run owns each GPU process
(the GPU panel's "owner" column).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import psutil

from mlopslab.core.gpus import GpuKill, GpuOwner, GpuSnapshot, GpuSource
from mlopslab.core.run import Run
from mlopslab.monitor.owners import owners_of

if TYPE_CHECKING:
    from mlopslab.service.runs import RunManager
    from mlopslab.store.db import Store

GIB = 1024**3


class Watchdog:
    def __init__(self, store: Store, runs: RunManager, source: GpuSource) -> None:
        self.store, self.runs, self.source = store, runs, source
        self._last: GpuSnapshot | None = None
        self._lock = threading.Lock()
        self.kills: list[GpuKill] = []

    def snapshot(self, max_age_s: float = 1.0) -> GpuSnapshot:
        with self._lock:
            if self._last is None or time.time() - self._last.ts > max_age_s:
                self._last = self.source.sample()
            return self._last

    def check(self) -> list[str]:
        """Kill running runs over a memory limit; returns their ids."""
        limited = [r for r in self.store.active_runs()
                   if r.status == "running" and _limits(r) != (None, None)]
        if not limited:
            return []
        gpu_use = self.snapshot(max_age_s=0).process_memory()
        killed = []
        for run in limited:
            reason = _over_limit(run, family(run), gpu_use)
            if reason:
                self.runs.kill(run, reason)
                self.kills.append(GpuKill(run_id=run.id, reason=reason, ts=time.time()))
                killed.append(run.id)
        return killed

    def owners(self, snap: GpuSnapshot) -> dict[str, GpuOwner]:
        """Which run owns each GPU process, by pid (as text)."""
        return {str(pid): owner for pid, owner in owners_of(snap, self.run_roots()).items()}

    def run_roots(self) -> dict[int, GpuOwner]:
        """Active runs' processes and their steps' workers: the roots of their GPU processes."""
        return {int(pid): GpuOwner(kind="run", id=run.id) for run in self.store.active_runs()
                for pid in (run.pid, run.worker_pid) if pid}


def _limits(run: Run) -> tuple[float | None, float | None]:
    r = run.resources
    return (r.gpu_memory_gb if r.gpus else None), r.memory_gb


def family(run: Run) -> set[int]:
    """The run's step worker and its children (the process that does the work)."""
    worker = run.worker_pid
    if not worker:
        return set()
    pids = {int(worker)}
    try:
        pids.update(p.pid for p in psutil.Process(int(worker)).children(recursive=True))
    except psutil.Error:
        pass
    return pids


def _over_limit(run: Run, pids: set[int], gpu_use: dict[int, int]) -> str | None:
    gpu_limit, mem_limit = _limits(run)
    if gpu_limit is not None:
        used = sum(gpu_use.get(pid, 0) for pid in pids)
        if used > gpu_limit * GIB:
            return (f"GPU memory {used / GIB:.2f} GiB over its limit of {gpu_limit:g} GiB "
                    f"(gpu_memory_gb; NVML per-process reading, pids {sorted(pids)})")
    if mem_limit is not None:
        rss = _rss(pids)
        if rss > mem_limit * GIB:
            return (f"host memory {rss / GIB:.2f} GiB over its limit of {mem_limit:g} GiB "
                    f"(memory_gb; resident set of pids {sorted(pids)})")
    return None


def _rss(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total
