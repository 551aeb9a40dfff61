"""GPU facts as plain values, whatever reads them (NVML on a real machine, a replay
of recorded or scripted samples elsewhere). Sources live in mlopslab/monitor/gpu*.py.

Memory is in bytes, power in watts, utilization in percent (0-100).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class GpuProcess:
    """A process holding memory on a GPU."""

    pid: int
    used_memory: int  # bytes; 0 when the driver does not say


@dataclass(frozen=True)
class GpuDevice:
    index: int
    uuid: str
    name: str
    utilization_pct: float
    memory_used: int
    memory_total: int
    power_w: float | None = None
    power_limit_w: float | None = None
    temperature_c: float | None = None
    processes: tuple[GpuProcess, ...] = ()

    @property
    def memory_pct(self) -> float:
        return 100.0 * self.memory_used / self.memory_total if self.memory_total else 0.0


@dataclass(frozen=True)
class GpuSnapshot:
    """One reading of every GPU. `problem` says plainly why there are none, if so."""

    ts: float
    source: str
    devices: tuple[GpuDevice, ...] = ()
    problem: str | None = None
    driver: str | None = None

    def process_memory(self) -> dict[int, int]:
        """Bytes of GPU memory per pid, summed over devices."""
        used: dict[int, int] = {}
        for device in self.devices:
            for proc in device.processes:
                used[proc.pid] = used.get(proc.pid, 0) + proc.used_memory
        return used

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GpuOwner:
    """What holds a GPU process: a run (kind "run") or a deployment, by id or name."""

    kind: str
    id: str


@dataclass(frozen=True)
class GpuKill:
    """A run the watchdog stopped over a memory limit, and when (epoch seconds)."""

    run_id: str
    reason: str
    ts: float


@dataclass(frozen=True)
class GpuReport:
    """The lab service's view of its GPUs: the latest snapshot, the owner of each GPU
    process by pid (as text: a JSON object's keys), and the most recent kills."""

    snapshot: GpuSnapshot
    owners: dict[str, GpuOwner] = field(default_factory=dict)
    kills: list[GpuKill] = field(default_factory=list)


def snapshot_from_dict(raw: dict[str, Any], ts: float, source: str) -> GpuSnapshot:
    """A snapshot from its JSON form (the replay file format, docs/gpus.md)."""
    devices = tuple(
        GpuDevice(**{**{k: v for k, v in d.items() if k != "processes"},
                     "processes": tuple(GpuProcess(**p) for p in d.get("processes", []))})
        for d in raw.get("devices", [])
    )
    return GpuSnapshot(ts=ts, source=source, devices=devices, problem=raw.get("problem"),
                       driver=raw.get("driver"))


class GpuSource(Protocol):
    """Where GPU facts come from. `sample` never raises for a missing driver; with
    `processes=False` it leaves out the process lists (the costly NVML call)."""

    name: str

    def sample(self, processes: bool = True) -> GpuSnapshot: ...

    def close(self) -> None: ...


@dataclass
class GpuHistory:
    """The last `size` readings per device, for sparklines."""

    size: int = 60
    utilization: dict[int, list[float]] = field(default_factory=dict)
    memory_pct: dict[int, list[float]] = field(default_factory=dict)
    power_w: dict[int, list[float]] = field(default_factory=dict)

    def add(self, snap: GpuSnapshot) -> None:
        for d in snap.devices:
            for series, value in ((self.utilization, d.utilization_pct),
                                  (self.memory_pct, d.memory_pct),
                                  (self.power_w, d.power_w or 0.0)):
                values = series.setdefault(d.index, [])
                values.append(float(value))
                del values[:-self.size]
