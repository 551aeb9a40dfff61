"""Which run or deployment owns a GPU process: the process itself or one of its
ancestors is a known root (a run's process or its step's Ray worker, a deployment
replica's process or its container's first process)."""

from __future__ import annotations

from collections.abc import Iterable

import psutil

from mlopslab.core.gpus import GpuOwner, GpuSnapshot


def owner_of(pid: int, roots: dict[int, GpuOwner]) -> GpuOwner | None:
    if pid in roots:
        return roots[pid]
    try:
        for parent in psutil.Process(pid).parents():
            if parent.pid in roots:
                return roots[parent.pid]
    except psutil.Error:
        pass
    return None


def gpu_pids(snapshot: GpuSnapshot) -> Iterable[int]:
    return {p.pid for d in snapshot.devices for p in d.processes}


def owners_of(snapshot: GpuSnapshot, roots: dict[int, GpuOwner]) -> dict[int, GpuOwner]:
    """The owner of each GPU process in `snapshot` that has one, by pid."""
    found: dict[int, GpuOwner] = {}
    for pid in gpu_pids(snapshot):
        owner = owner_of(pid, roots)
        if owner is not None:
            found[pid] = owner
    return found
