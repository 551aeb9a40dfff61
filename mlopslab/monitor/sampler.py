"""The lab service's GPU sampler: every GPU each `[monitor] interval_s`, their
process lists each `process_interval_s`, each process's owner, into the store.

Each tick makes one `GpuSampled` event: a row per device and a row per owner's
share of a device (core/gpu_usage.py). Between two process readings the last lists
stand (a process that started since is seen at the next one). Nothing is written
while the source reports no GPUs. Every so often the history is compacted
(`GpuHistoryCompacted`: raw to 1-minute to 1-hour rollups, and retention).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from mlopslab.config import MonitorSection
from mlopslab.core.gpu_usage import UsageShare, attribute, interval
from mlopslab.core.gpus import GpuOwner, GpuProcess, GpuSnapshot, GpuSource
from mlopslab.core.monitor_events import GpuHistoryCompacted, GpuSampled
from mlopslab.monitor.owners import owners_of

Roots = Callable[[], dict[int, GpuOwner]]
COMPACT_EVERY_S = 60.0
DAY_S = 86_400.0


class GpuSampler:
    def __init__(self, source: GpuSource, roots: Roots, settings: MonitorSection,
                 clock: Callable[[], float] = time.time) -> None:
        self.source, self.roots, self.settings, self.clock = source, roots, settings, clock
        self.latest: GpuSnapshot | None = None
        self.owners: dict[int, GpuOwner] = {}
        self._processes: dict[int, tuple[GpuProcess, ...]] = {}
        self._last_processes = float("-inf")
        self._last_ts: dict[int, float] = {}
        self._last_compact = clock()
        self._lock = threading.Lock()

    def tick(self) -> GpuSampled | None:
        """Read the GPUs once; the event to write, or None when there are no GPUs."""
        with self._lock:
            now = self.clock()
            fresh = now - self._last_processes >= self.settings.process_interval_s
            snap = self.source.sample(processes=fresh)
            if not snap.devices:
                self.latest = snap
                return None
            if fresh:
                self._processes = {d.index: d.processes for d in snap.devices}
                self.owners = owners_of(snap, self.roots())
                self._last_processes = now
            else:
                snap = replace(snap, devices=tuple(
                    replace(d, processes=self._processes.get(d.index, ())) for d in snap.devices))
            self.latest = snap
            return self._event(snap)

    def _event(self, snap: GpuSnapshot) -> GpuSampled:
        devices, usage = [], []
        nominal = self.settings.interval_s
        for device in snap.devices:
            seconds = interval(self._last_ts.get(device.index), snap.ts, nominal)
            self._last_ts[device.index] = snap.ts
            devices.append([device.index, device.uuid, device.name, device.utilization_pct,
                            device.memory_used, device.memory_total, device.power_w,
                            device.temperature_c, seconds])
            one = replace(snap, devices=(device,))
            usage += [_row(s) for s in attribute(one, self.owners, seconds)]
        return GpuSampled(ts=snap.ts, devices=devices, usage=usage)

    def compaction(self, force: bool = False) -> GpuHistoryCompacted | None:
        """The compaction due now (once a minute), or None."""
        now = self.clock()
        if not force and now - self._last_compact < COMPACT_EVERY_S:
            return None
        self._last_compact = now
        s = self.settings
        return GpuHistoryCompacted(
            minute_before=now - s.raw_hours * 3600.0, hour_before=now - s.minute_days * DAY_S,
            drop_before=now - s.retention_days * DAY_S if s.retention_days else None)


def _row(share: UsageShare) -> list[object]:
    return [share.device, share.gpu_name, share.owner.kind, share.owner.id, share.seconds,
            share.busy_s, share.energy_j, share.memory]
