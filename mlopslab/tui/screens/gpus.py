"""GPUs: live per-GPU panels and which run or deployment owns each GPU process; per owner,
the GPU time it held against the time it kept the GPU busy; each GPU's last hour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.gpus import GpuOwner
from mlopslab.tui.backend import GpuReading
from mlopslab.tui.format import bar, size
from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.widgets.gpu_panel import GpuPanel, level, sparkline

if TYPE_CHECKING:
    from mlopslab.client import LabClient

HOUR_S = 3600.0


def owners_of(reading: GpuReading) -> dict[GpuOwner, list[int]]:
    """The lab's owners of processes on the GPUs now, with the GPUs they are on."""
    found: dict[GpuOwner, list[int]] = {}
    for device in reading.snapshot.devices:
        for proc in device.processes:
            owner = reading.owners.get(proc.pid)
            if owner is not None and device.index not in found.setdefault(owner, []):
                found[owner].append(device.index)
    return found


def owner_uses(client: LabClient, owners: Sequence[GpuOwner]) -> list[OwnerGpuUse]:
    """What the monitor attributed to each owner over its life (one call per kind)."""
    found: list[OwnerGpuUse] = []
    for kind in sorted({o.kind for o in owners}):
        found += client.monitor.gpu_use(ids=sorted(o.id for o in owners if o.kind == kind), kind=kind)
    return found


def owners_block(on: dict[GpuOwner, list[int]], uses: list[OwnerGpuUse]) -> Table | Text:
    """Per owner: the GPUs it is on, GPU-hours held (sampled while its processes held GPU
    memory) against GPU-hours busy, the share busy, energy and peak memory."""
    if not on:
        return Text.assemble((" allocated vs busy, per owner", "bold underline"),
                             ("\n no lab run or deployment on the GPUs now", "dim"))
    table = Table(title=" allocated vs busy, per owner", title_justify="left", title_style="bold underline",
                  box=None, padding=(0, 1), header_style="bold")
    for name, justify in (("owner", "left"), ("GPUs", "left"), ("held h", "right"), ("busy h", "right"),
                          ("busy", "left"), ("energy", "right"), ("peak mem", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    by_owner = {GpuOwner(u.kind, u.id): u for u in uses}
    for owner, devices in on.items():
        use = by_owner.get(owner)
        gpus = ",".join(str(d) for d in devices)
        if use is None:
            table.add_row(Text(f"{owner.kind} {owner.id}", "cyan"), gpus, Text("not measured yet", "dim"),
                          "", "", "", "")
            continue
        pct = 100.0 * use.busy_gpu_s / use.seconds if use.seconds else 0.0
        table.add_row(Text(f"{owner.kind} {owner.id}", "cyan"), gpus, f"{use.seconds / HOUR_S:.2f}",
                      f"{use.busy_gpu_s / HOUR_S:.2f}", Text.assemble((bar(pct / 100, 8), level(pct)), f" {pct:3.0f}%"),
                      f"{use.energy_j / 3.6e6:.2f} kWh", size(use.peak_memory))
    return table


def hour_lines(points: list[GpuPoint], since: float, now: float, width: int) -> Text:
    """Each GPU's utilization over the hour to `now`, one cell per 1/`width` of it (the
    readings in a cell averaged by the time they stand for; blank where none)."""
    graph = max(12, min(60, width - 26))  # at most a cell a minute
    text = Text()
    text.append(" last hour", "bold underline")
    devices = sorted({p.device for p in points})
    if not devices:
        text.append("\n no readings in the lab's GPU history yet", "dim")
    for device in devices:
        cells: list[list[float]] = [[0.0, 0.0] for _ in range(graph)]  # weighted sum, seconds
        peak = 0.0
        for p in points:
            at = p.ts.timestamp()
            if p.device != device or p.utilization_pct is None or not since <= at <= now:
                continue
            cell = cells[min(graph - 1, int((at - since) / (now - since) * graph))]
            cell[0] += p.utilization_pct * (p.seconds or 1.0)
            cell[1] += p.seconds or 1.0
            peak = max(peak, p.utilization_pct)
        line = "".join(sparkline([s / w], 1) if w else " " for s, w in cells)
        weight = sum(w for _, w in cells)
        mean = sum(s for s, _ in cells) / weight if weight else 0.0
        text.append(f"\n GPU {device} ", "bold")
        text.append(line, level(mean))
        text.append(f" avg {mean:3.0f}% max {peak:3.0f}%", "dim")
    return text


class GpusScreen(LabScreen):
    TITLE = "GPUs"
    HELP = ("Every GPU of this machine, sampled each second: utilization, memory and power "
            "with their recent history, and the processes on each GPU with the lab run or "
            "deployment that owns them. Without an NVIDIA driver it says so. Below: each owner's "
            "GPU-hours held (while its processes held GPU memory) against the GPU-hours it kept "
            "the GPUs busy, and each GPU's utilization over the last hour (the lab's history).")

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield GpuPanel(processes=True, id="gpus")
            yield Static("", id="gpu-owners")
            yield Static("", id="gpu-hour")

    def on_mount(self) -> None:
        super().on_mount()
        if self.lab.gpu_reading is not None:
            self.query_one(GpuPanel).show(self.lab.gpu_reading, self.lab.gpu_history)
        self.refresh_while_shown(self.reload)

    def reload(self) -> None:
        backend, now = self.lab.backend, self.lab.clock()  # a client per worker thread
        latest = self.lab.gpu_reading

        def owners() -> tuple[GpuReading, dict[GpuOwner, list[int]], list[OwnerGpuUse]]:
            reading = latest or backend.gpus()  # before the app's first reading came
            on = owners_of(reading)
            return reading, on, owner_uses(backend.client, list(on))

        self.in_thread(owners, lambda found: self._show_owners(*found), group="gpu-owners")
        since = now - HOUR_S
        self.in_thread(lambda: (backend.client.monitor.gpu_history(since=since), since, now),
                       lambda found: self._show_hour(*found), group="gpu-hour")

    def _show_owners(self, reading: GpuReading, on: dict[GpuOwner, list[int]], uses: list[OwnerGpuUse]) -> None:
        self.query_one("#gpu-owners", Static).update(owners_block(on, uses) if reading.snapshot.devices else "")

    def _show_hour(self, points: list[GpuPoint], since: float, now: float) -> None:
        self.query_one("#gpu-hour", Static).update(hour_lines(points, since, now, self.size.width))
