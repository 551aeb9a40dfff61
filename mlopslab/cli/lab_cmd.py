"""`mlopslab lab start|status|stop`: the lab service."""

from __future__ import annotations

import click

from mlopslab.cli import cli, lab_of


@cli.group()
def lab() -> None:
    """Start, inspect and stop the lab service (it starts on demand anyway)."""


@lab.command()
@click.option("--ray/--no-ray", "with_ray", default=False,
              help="Also start the local Ray cluster now instead of at the first run.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def start(ctx: click.Context, with_ray: bool, as_json: bool) -> None:
    """Start the lab service in the background (it survives closing the terminal)."""
    from mlopslab.service import daemon
    from mlopslab.service.client import LabClient

    the_lab = lab_of(ctx)
    daemon.start(the_lab)
    if with_ray:
        with LabClient(the_lab) as client:
            client.call("cluster")
    _show(daemon.status(the_lab), as_json)


@lab.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show whether the service and the local Ray cluster run. Exit 1 when stopped."""
    from mlopslab.service import daemon

    report = daemon.status(lab_of(ctx))
    _show(report, as_json)
    if not report["running"]:
        raise SystemExit(1)


@lab.command()
@click.option("--keep-ray", is_flag=True, help="Leave the local Ray cluster running.")
@click.pass_context
def stop(ctx: click.Context, keep_ray: bool) -> None:
    """Stop the lab service (and the local Ray cluster). Running runs keep going."""
    from mlopslab.service import daemon

    stopped = daemon.stop(lab_of(ctx), stop_ray=not keep_ray)
    click.echo("lab service stopped" if stopped else "lab service was not running")


def _show(report: dict, as_json: bool) -> None:
    from mlopslab.cli.output import print_json

    if as_json:
        print_json(report)
        return
    if not report["running"]:
        click.echo(f"lab service: stopped ({report['lab']})")
        return
    ray = report.get("ray")
    click.echo(f"lab service: running, pid {report['pid']}, up {report['uptime_s']:.0f}s, "
               f"{report['active_runs']} active run(s)")
    click.echo(f"  lab  {report['name']} ({report['lab']})")
    click.echo(f"  ray  {ray['address'] + (' (local)' if ray['local'] else '') if ray else 'not started'}")
