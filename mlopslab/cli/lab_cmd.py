"""`mlopslab lab start|status|stop`: the lab service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli import cli, lab_of

if TYPE_CHECKING:
    from mlopslab.core.service_status import ServiceStatus
    from mlopslab.lab import Lab


@cli.group()
def lab() -> None:
    """Start, inspect and stop the lab service (it starts on demand anyway)."""


@lab.command()
@click.option("--ray/--no-ray", "with_ray", default=False,
              help="Also start the local Ray cluster now instead of at the first run.")
@click.option("--gpus", type=float, metavar="N",
              help="GPUs the local cluster advertises (logical ones on a machine without GPUs; "
              "-1: the GPUs NVML finds). Remembered in mlopslab.toml; restarts an idle lab.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def start(ctx: click.Context, with_ray: bool, gpus: float | None, as_json: bool) -> None:
    """Start the lab service in the background (it survives closing the terminal)."""
    from mlopslab.client import LabClient, daemon

    the_lab = lab_of(ctx)
    if gpus is not None:
        the_lab = _set_gpus(the_lab, gpus)
        with_ray = True
    daemon.start(the_lab)
    if with_ray:
        with LabClient(the_lab) as client:
            client.service.cluster()
    _show(the_lab, daemon.status(the_lab), as_json)


@lab.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show whether the service and the local Ray cluster run. Exit 1 when stopped."""
    from mlopslab.client import daemon
    from mlopslab.evaluation.runtime import runtime_info

    the_lab = lab_of(ctx)
    answer = daemon.status(the_lab)
    _show(the_lab, answer, as_json, runtime_info())
    if answer is None:
        raise SystemExit(1)


@lab.command()
@click.option("--keep-ray", is_flag=True, help="Leave the local Ray cluster running.")
@click.pass_context
def stop(ctx: click.Context, keep_ray: bool) -> None:
    """Stop the lab service (and the local Ray cluster). Running runs keep going."""
    from mlopslab.client import daemon

    stopped = daemon.stop(lab_of(ctx), stop_ray=not keep_ray)
    click.echo("lab service stopped" if stopped else "lab service was not running")


def _set_gpus(the_lab: Any, gpus: float) -> Any:
    """Write ray.num_gpus to the config; restart the service and local Ray if they run."""
    from mlopslab.cli.output import plural
    from mlopslab.client import daemon
    from mlopslab.config import CONFIG_FILE
    from mlopslab.core.errors import ConfigError
    from mlopslab.lab import Lab

    if gpus < 0 and gpus != -1:
        raise ConfigError("--gpus must be >= 0, or -1 for the GPUs NVML finds")
    config = the_lab.config
    if config.ray.num_gpus == gpus:
        return the_lab
    if config.ray.address:
        raise ConfigError("--gpus sets the local cluster's GPUs, but this lab uses the Ray "
                          f"cluster at {config.ray.address}")
    answer = daemon.status(the_lab)
    if answer is not None and answer.active_runs:
        active = answer.active_runs
        raise ConfigError(f"{plural(active, 'run')} {'is' if active == 1 else 'are'} active; the "
                          "local cluster can change its GPUs only when idle",
                          "wait or cancel them, then retry")
    what = "the GPUs NVML finds" if gpus == -1 else plural(gpus, "GPU")
    if answer is not None:
        click.echo(f"restarting the lab service and its local Ray cluster to advertise {what}", err=True)
        daemon.stop(the_lab, stop_ray=True)
    file = the_lab.root / CONFIG_FILE
    file.write_text(_with_ray_gpus(file.read_text(), gpus))
    click.echo(f"ray.num_gpus = {gpus:g} written to {file}", err=True)
    return Lab(the_lab.root)


def _with_ray_gpus(text: str, gpus: float) -> str:
    """The config text with [ray] num_gpus set; every other line (and comment) kept."""
    import re

    line = f"num_gpus = {gpus:g}"
    section = re.search(r"(?ms)^\[ray\][^\n]*\n(.*?)(?=^\[|\Z)", text)
    if section is None:
        return text.rstrip("\n") + f"\n\n[ray]\n{line}\n"
    body = section.group(1)
    if re.search(r"(?m)^num_gpus\s*=.*$", body):
        body = re.sub(r"(?m)^num_gpus\s*=.*$", line, body, count=1)
    else:
        body = line + "\n" + body
    return text[:section.start(1)] + body + text[section.end(1):]


def _show(the_lab: Lab, answer: ServiceStatus | None, as_json: bool,
          runtime: dict[str, Any] | None = None) -> None:
    """The service's status (None: not running), and the ONNX Runtime when given."""
    from mlopslab.cli.output import plural, print_json

    if as_json:
        print_json(_status_json(the_lab, answer, runtime))
        return
    if answer is None:
        click.echo(f"lab service: stopped ({the_lab.root})")
        _show_runtime(runtime)
        return
    ray = answer.ray
    click.echo(f"lab service: running, pid {answer.pid}, up {answer.uptime_s:.0f}s, "
               f"{plural(answer.active_runs, 'active run')}")
    click.echo(f"  lab  {answer.name} ({answer.lab})")
    click.echo(f"  ray  {ray.address + (' (local)' if ray.local else '') if ray else 'not started'}")
    if answer.mirror is not None:
        m = answer.mirror
        state = f"{m.behind} of {plural(m.runs, 'run')} still to send" if m.behind else f"all {m.runs} runs sent"
        click.echo(f"  mlflow mirror  {m.uri}: {state}" + (f"; last error: {m.last_error}" if m.last_error else ""))
    _show_runtime(runtime)


def _status_json(the_lab: Lab, answer: ServiceStatus | None, runtime: dict[str, Any] | None) -> dict[str, Any]:
    """The documented `lab status --json`: `running` and the service's answer, or what the
    pid file says when it does not answer; `onnxruntime` when given."""
    from mlopslab.api.wire import plain
    from mlopslab.client import daemon

    report: dict[str, Any] = ({"running": True, **plain(answer)} if answer is not None else
                              {"running": False, "pid": daemon.read_pid(the_lab), "lab": str(the_lab.root)})
    if runtime is not None:
        report["onnxruntime"] = runtime
    return report


def _show_runtime(runtime: dict[str, Any] | None) -> None:
    """The installed ONNX Runtime: package, version, execution providers, or what is wrong."""
    if runtime is None:
        return
    packages = ", ".join(runtime["packages"]) or "none"
    if runtime["version"]:
        click.echo(f"  onnx runtime  {runtime['version']} ({packages}): {', '.join(runtime['providers'])}")
    if runtime["problem"]:
        click.secho(f"  warning: {runtime['problem']}", fg="yellow")
