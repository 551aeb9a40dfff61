"""`mlopslab runs ls|show|metrics|logs|cancel`."""

from __future__ import annotations

import click

from mlopslab.cli import cli, lab_of


@cli.group()
def runs() -> None:
    """List and inspect runs."""


@runs.command("ls")
@click.option("--filter", "filter_", metavar="EXPR",
              help="e.g. \"status = 'finished' and metrics.acc > 0.9 and params.lr < 0.1\"")
@click.option("--sort", metavar="KEY", help="e.g. -metrics.acc (descending), started_at")
@click.option("--limit", default=50, show_default=True, help="Most runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
def ls(ctx: click.Context, filter_: str | None, sort: str | None, limit: int,
       as_json: bool) -> None:
    """List runs, newest first."""
    from mlopslab.cli.output import print_grid, print_json, run_json, runs_table
    from mlopslab.service.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        found = client.call("list_runs", filter=filter_, sort=sort, limit=limit)
    if as_json:
        print_json([run_json(r) for r in found])
    elif not found:
        click.echo("no runs" + (" match the filter" if filter_ else " yet"))
    else:
        print_grid(runs_table(found, sort=sort))


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Everything about one run (an unambiguous id prefix is enough)."""
    from mlopslab.cli.output import print_json, run_detail, run_json
    from mlopslab.service.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        run = client.call("get_run", run_id=run_id)
    if as_json:
        print_json(run_json(run))
    else:
        run_detail(run)


@runs.command()
@click.argument("run_id")
@click.option("--key", help="Only this metric.")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@click.pass_context
def metrics(ctx: click.Context, run_id: str, key: str | None, as_json: bool) -> None:
    """Full metric series of a run."""
    from rich.table import Table

    from mlopslab.cli.output import console, fmt_value, print_json
    from mlopslab.service.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        series = client.call("metrics", run_id=run_id, key=key)
    if as_json:
        print_json(series)
        return
    table = Table("KEY", "STEP", "VALUE", box=None, header_style="bold")
    for point in series:
        table.add_row(point["key"], str(point["step"]), fmt_value(point["value"]))
    console.print(table)


@runs.command()
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
@click.pass_context
def logs(ctx: click.Context, run_id: str, follow: bool) -> None:
    """A run's logs: its steps' stdout, stderr and logging, and mlopslab's own lines."""
    from mlopslab.cli.follow import follow_logs
    from mlopslab.cli.output import console
    from mlopslab.service.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        if follow:
            follow_logs(client, run_id, console)
            return
        for line in client.call("logs", run_id=run_id):
            click.echo(line["line"])


@runs.command()
@click.argument("run_id")
@click.pass_context
def cancel(ctx: click.Context, run_id: str) -> None:
    """Cancel a queued or running run."""
    import getpass

    from mlopslab.service.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        run = client.call("cancel_run", run_id=run_id, actor=getpass.getuser())
    click.echo(f"run {run['id']}: {run['status']}")
