"""`mlopslab gpu`: the GPUs now, their processes and who owns each.

Through the lab service when it runs (it knows which run owns a process); when it
does not, the lab's GPU source (`[gpu] source`) is read directly, without starting a
service just for this, and owners are not known.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli import cli, lab_of

if TYPE_CHECKING:
    from mlopslab.core.gpus import GpuDevice, GpuOwner, GpuReport
    from mlopslab.lab import Lab

GIB = 1024**3
VIA_SERVICE, VIA_SOURCE = "service", "source"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the GPUs as JSON.")
@click.pass_context
def gpu(ctx: click.Context, as_json: bool) -> None:
    """GPUs (utilization, memory, power, temperature) and their processes with owners.

    On a machine without an NVIDIA driver it says so in one line and exits 0.
    """
    from mlopslab.cli.output import print_json

    report, via = gpu_report(lab_of(ctx))
    if as_json:
        print_json(gpu_json(report, via))
        return
    problem = report.snapshot.problem
    if not report.snapshot.devices:
        click.echo(f"no GPUs: {problem or 'the GPU source reports none'}")
        return
    _show(report, via)


def gpu_report(lab: Lab) -> tuple[GpuReport, str]:
    """The service's report, or (when it is not running) one read from the lab's
    source, with no owners; and which of the two it is."""
    from mlopslab.client import LabClient
    from mlopslab.core.errors import ServiceUnreachable
    from mlopslab.core.gpus import GpuReport
    from mlopslab.monitor.gpu import open_source

    try:
        with LabClient(lab, autostart=False) as client:
            return client.queue.gpus(), VIA_SERVICE
    except ServiceUnreachable:
        pass
    source = open_source(lab.config.gpu.source)
    try:
        return GpuReport(snapshot=source.sample()), VIA_SOURCE
    finally:
        source.close()


def gpu_json(report: GpuReport, via: str) -> dict[str, Any]:
    """The documented `gpu --json`: the snapshot's facts, its devices, and one flat list
    of processes, each with its device and owner (null: none known)."""
    snap = report.snapshot
    devices = [{k: v for k, v in vars(d).items() if k != "processes"} for d in snap.devices]
    return {"source": snap.source, "ts": datetime.fromtimestamp(snap.ts, UTC),
            "driver": snap.driver, "problem": snap.problem, "via": via, "devices": devices,
            "processes": [{"pid": p.pid, "device": d.index, "used_memory": p.used_memory,
                           "owner": report.owners.get(str(p.pid))}
                          for d in snap.devices for p in d.processes]}


def _show(report: GpuReport, via: str) -> None:
    from mlopslab.cli.output import Col, Grid, Role, print_grid

    snap = report.snapshot
    driver = f", driver {snap.driver}" if snap.driver else ""
    grid = Grid([Col("GPU", justify="right"), Col("NAME", Role.WRAP, least=12),
                 Col("UTIL", justify="right"), Col("MEMORY GIB", justify="right"),
                 Col("POWER W", justify="right"), Col("TEMP", justify="right")],
                title=f"GPUs ({_source_name(snap.source)}{driver})")
    for d in snap.devices:
        grid.add_row(str(d.index), d.name, f"{d.utilization_pct:.0f}%", _memory(d), _power(d),
                     f"{d.temperature_c:.0f}C" if d.temperature_c is not None else "-")
    print_grid(grid)
    _processes(report, via)


def _processes(report: GpuReport, via: str) -> None:
    from mlopslab.cli.output import Col, Grid, print_grid

    procs = [(d.index, p) for d in report.snapshot.devices for p in d.processes]
    click.echo("")
    if not procs:
        click.echo("no GPU processes")
        return
    grid = Grid([Col("PID", justify="right"), Col("GPU", justify="right"),
                 Col("MEMORY GIB", justify="right"), Col("OWNER")], title="GPU processes")
    for index, p in sorted(procs, key=lambda found: (found[0], found[1].pid)):
        grid.add_row(str(p.pid), str(index), f"{p.used_memory / GIB:.2f}",
                     _owner(report.owners.get(str(p.pid))))
    print_grid(grid)
    if via == VIA_SOURCE:
        click.echo("owners unknown: the lab service is not running (read from the GPU source)")


def _source_name(source: str) -> str:
    """`nvml`, `none`, or `replay FILE` (the file's name: the path is in the config)."""
    kind, _, path = source.partition(":")
    return f"{kind} {path.rsplit('/', 1)[-1]}" if path else kind


def _owner(owner: GpuOwner | None) -> str:
    return f"{owner.kind} {owner.id}" if owner else "-"


def _memory(d: GpuDevice) -> str:
    return f"{d.memory_used / GIB:.1f}/{d.memory_total / GIB:.1f}"


def _power(d: GpuDevice) -> str:
    if d.power_w is None:
        return "-"
    limit = f"/{d.power_limit_w:.0f}" if d.power_limit_w else ""
    return f"{d.power_w:.0f}{limit}"
