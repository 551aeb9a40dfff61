"""nvitop-like GPU panels: per GPU utilization, memory and power with sparklines,
and the processes on it with the run or deployment that owns each one."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mlopslab.core.gpus import GpuDevice, GpuHistory, GpuOwner
from mlopslab.tui.backend import GpuReading
from mlopslab.tui.format import bar, size

TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int, top: float = 100.0) -> str:
    values = values[-width:]
    if not values:
        return " " * width
    top = max(top, max(values), 1e-9)
    line = "".join(TICKS[min(7, int(v / top * 7.999))] for v in values)
    return line.rjust(width)


def level(pct: float) -> str:
    return "green" if pct < 50 else "yellow" if pct < 85 else "red"


def owner_text(owner: GpuOwner | None) -> Text:
    if not owner:
        return Text("not a lab process", "dim")
    return Text(f"{owner.kind} {owner.id}", "cyan")


def device_lines(d: GpuDevice, history: GpuHistory, width: int) -> RenderableType:
    graph = max(8, min(60, width - 52))
    power = f"{d.power_w:.0f}/{d.power_limit_w or 0:.0f} W" if d.power_w is not None else "— W"
    temp = f"{d.temperature_c:.0f}°C" if d.temperature_c is not None else "—"
    head = Text.assemble((f" GPU {d.index} ", "bold reverse"), f" {d.name}  ", (temp, "bold"), "  ", power)
    util = Text.assemble(" util ", (bar(d.utilization_pct / 100, 16), level(d.utilization_pct)),
                         f" {d.utilization_pct:5.1f}%  ",
                         (sparkline(history.utilization.get(d.index, []), graph), level(d.utilization_pct)))
    mem = Text.assemble(" mem  ", (bar(d.memory_pct / 100, 16), level(d.memory_pct)), f" {d.memory_pct:5.1f}%  ",
                        (sparkline(history.memory_pct.get(d.index, []), graph), level(d.memory_pct)),
                        (f" {d.memory_used / 2**30:.1f}/{d.memory_total / 2**30:.0f}G", "dim"))
    return Group(head, util, mem)


def processes_table(reading: GpuReading) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=True)
    for name, justify in (("gpu", "right"), ("pid", "right"), ("memory", "right"), ("owner", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for d in reading.snapshot.devices:
        for p in d.processes:
            table.add_row(str(d.index), str(p.pid), size(p.used_memory), owner_text(reading.owners.get(p.pid)))
    if not table.row_count:
        table.add_row("", "", "", Text("no processes on the GPUs", "dim"))
    return table


def no_devices(problem: str | None, logical: float) -> Text:
    """What to say when no GPU can be read: why, and whether the cluster has logical GPUs."""
    if logical:
        count = f"{logical:g} logical GPU{'s' if logical != 1 else ''}"
        return Text.assemble(
            (" No GPU device to measure. ", "bold yellow"), problem or "NVML found none", "\n ",
            (f"The lab's Ray cluster advertises {count} (`mlopslab lab start --gpus N`): runs can ask "
             "for them and are scheduled on them, but they are logical, not NVIDIA devices, so there is "
             "no utilization, memory or power to show.", "dim"))
    return Text.assemble(
        (" No GPUs. ", "bold yellow"), problem or "none found",
        ("\n Runs use CPUs only. `mlopslab tui --demo-gpus` shows recorded samples.", "dim"))


class GpuPanel(Static):
    """Every GPU, compact (`processes=False`: the dashboard) or with its processes."""

    DEFAULT_CSS = "GpuPanel { height: auto; }"

    def __init__(self, processes: bool = True, *, id: str | None = None) -> None:
        super().__init__("reading GPUs…", id=id, classes="gpu-view")
        self.with_processes = processes

    def show(self, reading: GpuReading, history: GpuHistory) -> None:
        snap = reading.snapshot
        if not snap.devices:
            self.update(no_devices(snap.problem, reading.logical_gpus))
            return
        width = self.size.width or self.app.size.width
        parts: list[RenderableType] = [device_lines(d, history, width) for d in snap.devices]
        if self.with_processes:
            parts.append(Text(" processes", "bold underline"))
            parts.append(processes_table(reading))
        src = snap.source.split(":", 1)[0] + (f" · driver {snap.driver}" if snap.driver else "")
        parts.append(Text(f" source {src}", "dim"))
        self.update(Group(*parts))
