"""Who used the GPUs, and how much: attributing each GPU reading to the owners of its
processes (docs/monitoring.md).

Between two readings of a device (`seconds` apart) its utilization and power are
split among the processes on it by their share of the processes' GPU memory
(equally when the driver reports no per-process memory). A process whose owner is
unknown keeps its share, so the owned shares never add up to more than the device
did. Busy GPU-seconds are utilization x time x share; energy is power x time x
share. Allocation (what a run *held*) is not measured here: it is the run's
`gpus` times the time it ran (core/cost.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.gpus import GpuOwner, GpuSnapshot


@dataclass(frozen=True)
class UsageShare:
    """One owner's share of one device over one sampling interval."""

    device: int
    gpu_name: str
    owner: GpuOwner
    seconds: float  # the interval
    share: float  # 0-1: its part of the device's processes' memory
    busy_s: float  # utilization x seconds x share
    energy_j: float  # power x seconds x share (0 when the GPU reports no power)
    memory: int  # bytes its processes held on the device


def interval(previous_ts: float | None, ts: float, nominal_s: float) -> float:
    """Seconds a reading stands for: since the previous one, but never more than 2.5
    sampling intervals (after a gap, such as the service being down, only one
    interval is counted rather than inventing what the GPU did meanwhile)."""
    if previous_ts is None:
        return nominal_s
    elapsed = ts - previous_ts
    if elapsed <= 0:
        return 0.0
    return elapsed if elapsed <= 2.5 * nominal_s else nominal_s


def attribute(snapshot: GpuSnapshot, owners: dict[int, GpuOwner],
              seconds: float) -> list[UsageShare]:
    """Each owner's share of each device in `snapshot`, which stands for `seconds`."""
    shares: list[UsageShare] = []
    for device in snapshot.devices:
        procs = device.processes
        if not procs:
            continue
        total = sum(p.used_memory for p in procs)
        held: dict[GpuOwner, tuple[float, int]] = {}
        for proc in procs:
            owner = owners.get(proc.pid)
            if owner is None:
                continue
            part = proc.used_memory / total if total else 1.0 / len(procs)
            share, memory = held.get(owner, (0.0, 0))
            held[owner] = (share + part, memory + proc.used_memory)
        for owner, (share, memory) in held.items():
            busy = device.utilization_pct / 100.0 * seconds * share
            energy = (device.power_w or 0.0) * seconds * share
            shares.append(UsageShare(device.index, device.name, owner, seconds, share, busy,
                                     energy, memory))
    return shares


@dataclass(frozen=True)
class GpuPoint:
    """A GPU over one stretch of its history: a raw reading, or a 1-minute or 1-hour
    rollup (`seconds` long; utilization, memory and power averaged over it)."""

    ts: datetime
    device: int
    name: str | None
    seconds: float
    utilization_pct: float | None
    memory_used: float | None
    memory_total: int | None
    power_w: float | None


@dataclass(frozen=True)
class OwnerGpuUse:
    """What the monitor attributed to one run or deployment, over its whole life."""

    kind: str
    id: str
    seconds: float  # sampled seconds in which it held memory on a GPU
    busy_gpu_s: float
    energy_j: float
    peak_memory: int
