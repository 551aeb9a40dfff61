"""GPU sources: NVML on a machine with an NVIDIA driver, a replay of recorded or
scripted samples anywhere else. `open_source` picks one from a spec string:

    nvml            the real GPUs (nvidia-ml-py); with no driver, snapshots say so
    replay:PATH     play a JSON-lines recording (docs/gpus.md); loops; re-read on change
    none            no GPUs
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlopslab.core.errors import ConfigError
from mlopslab.core.gpus import GpuDevice, GpuProcess, GpuSnapshot, GpuSource, snapshot_from_dict


def open_source(spec: str | None = None) -> GpuSource:
    spec = spec or "nvml"
    if spec == "nvml":
        return NvmlSource()
    if spec == "none":
        return NoGpus()
    if spec.startswith("replay:"):
        return ReplaySource(Path(spec.removeprefix("replay:")).expanduser())
    raise ConfigError(f"unknown GPU source '{spec}'", "use nvml, none or replay:PATH")


class NoGpus:
    name = "none"

    def sample(self, processes: bool = True) -> GpuSnapshot:
        return GpuSnapshot(time.time(), self.name, problem="GPU monitoring is off (source none)")

    def close(self) -> None:
        pass


class NvmlSource:
    """The machine's NVIDIA GPUs through NVML. Never raises for a missing driver."""

    name = "nvml"

    def __init__(self) -> None:
        self._nvml: Any = None
        self._problem: str | None = None
        self._lock = threading.Lock()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
        except ImportError:
            self._problem = "nvidia-ml-py is not installed (pip install 'mlopslab[gpu]')"
        except Exception as e:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded...
            self._problem = f"no NVIDIA driver found ({e})"

    def sample(self, processes: bool = True) -> GpuSnapshot:
        if self._nvml is None:
            return GpuSnapshot(time.time(), self.name, problem=self._problem)
        with self._lock:
            try:
                nv = self._nvml
                driver = _text(nv.nvmlSystemGetDriverVersion())
                count = nv.nvmlDeviceGetCount()
                devices = tuple(_device(nv, i, processes) for i in range(count))
            except Exception as e:  # noqa: BLE001 - a GPU fell off the bus, driver reloaded
                return GpuSnapshot(time.time(), self.name, problem=f"NVML failed: {e}")
        problem = None if devices else "the NVIDIA driver reports no GPUs"
        return GpuSnapshot(time.time(), self.name, devices, problem, driver)

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass
            self._nvml = None


def _device(nv: Any, index: int, processes: bool = True) -> GpuDevice:
    h = nv.nvmlDeviceGetHandleByIndex(index)
    mem = nv.nvmlDeviceGetMemoryInfo(h)
    return GpuDevice(
        index=index, uuid=_text(nv.nvmlDeviceGetUUID(h)), name=_text(nv.nvmlDeviceGetName(h)),
        utilization_pct=float(_maybe(lambda: nv.nvmlDeviceGetUtilizationRates(h).gpu, 0)),
        memory_used=int(mem.used), memory_total=int(mem.total),
        power_w=_maybe(lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0),
        power_limit_w=_maybe(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0),
        temperature_c=_maybe(lambda: float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))),
        processes=_processes(nv, h) if processes else (),
    )


def _processes(nv: Any, handle: Any) -> tuple[GpuProcess, ...]:
    seen: dict[int, int] = {}
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        for p in _maybe(lambda g=getter: getattr(nv, g)(handle), []) or []:
            used = p.usedGpuMemory if isinstance(p.usedGpuMemory, int) else 0
            seen[int(p.pid)] = max(seen.get(int(p.pid), 0), used)
    return tuple(GpuProcess(pid, used) for pid, used in sorted(seen.items()))


def _maybe(read: Any, default: Any = None) -> Any:
    try:
        return read()
    except Exception:  # noqa: BLE001 - a field this GPU or driver does not support
        return default


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ReplaySource:
    """Plays a JSON-lines file of snapshots, each with `t` (seconds from the first).

    Loops at the end. The file is re-read when it changes, so a test can script
    what the GPUs report next by rewriting it.
    """

    def __init__(self, path: Path, clock: Any = time.monotonic) -> None:
        self.path = path
        self.name = f"replay:{path}"
        self._clock = clock
        self._start = clock()
        self._stamp: tuple[float, int] | None = None
        self._frames: list[dict[str, Any]] = []

    def sample(self, processes: bool = True) -> GpuSnapshot:
        try:
            self._reload()
        except (OSError, ValueError) as e:
            return GpuSnapshot(time.time(), self.name, problem=f"cannot read GPU replay: {e}")
        if not self._frames:
            return GpuSnapshot(time.time(), self.name, problem="the GPU replay file is empty")
        snap = snapshot_from_dict(self._frame(self._clock() - self._start), time.time(), self.name)
        if processes:
            return snap
        return replace(snap, devices=tuple(replace(d, processes=()) for d in snap.devices))

    def _frame(self, elapsed: float) -> dict[str, Any]:
        span = float(self._frames[-1].get("t", 0.0))
        if span > 0:
            elapsed %= span
        current = self._frames[0]
        for frame in self._frames:
            if float(frame.get("t", 0.0)) <= elapsed:
                current = frame
        return current

    def _reload(self) -> None:
        stat = self.path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._stamp:
            return
        lines = self.path.read_text().splitlines()
        self._frames = [json.loads(line) for line in lines if line.strip()]
        self._stamp = stamp

    def close(self) -> None:
        pass


def script_replay(path: Path, used_by_pid: dict[int, int], memory_total: int = 80 * 1024**3) -> None:
    """Make `path` a one-GPU replay whose processes hold `used_by_pid` bytes (atomically, so a
    ReplaySource reading it sees the old or the new frame): tests and benchmarks script NVML."""
    device = {"index": 0, "uuid": "GPU-scripted-0", "name": "scripted", "utilization_pct": 50.0,
              "memory_used": sum(used_by_pid.values()), "memory_total": memory_total,
              "processes": [{"pid": p, "used_memory": u} for p, u in used_by_pid.items()]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"t": 0, "devices": [device]}) + "\n")
    tmp.replace(path)


def record(source: GpuSource, path: Path, interval_s: float, count: int) -> int:
    """Write `count` samples of `source` to a replay file; returns how many had GPUs."""
    start = time.monotonic()
    with_gpus = 0
    with path.open("w") as out:
        for i in range(count):
            snap = source.sample()
            raw = snap.to_dict()
            raw.pop("ts")
            raw.pop("source")
            out.write(json.dumps({"t": round(time.monotonic() - start, 3), **raw}) + "\n")
            with_gpus += bool(snap.devices)
            if i + 1 < count:
                time.sleep(interval_s)
    return with_gpus
