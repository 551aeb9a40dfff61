"""GPUs: live per-GPU panels and which run or deployment owns each GPU process."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.widgets.gpu_panel import GpuPanel


class GpusScreen(LabScreen):
    TITLE = "GPUs"
    HELP = ("Every GPU of this machine, sampled each second: utilization, memory and power "
            "with their recent history, and the processes on each GPU with the lab run or "
            "deployment that owns them. Without an NVIDIA driver it says so.")

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield GpuPanel(processes=True, id="gpus")

    def on_mount(self) -> None:
        super().on_mount()
        if self.lab.gpu_reading is not None:
            self.query_one(GpuPanel).show(self.lab.gpu_reading, self.lab.gpu_history)
