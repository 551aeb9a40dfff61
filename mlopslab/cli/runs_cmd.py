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
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        found = client.runs.list(filter=filter_, sort=sort, limit=limit)
    if as_json:
        from mlopslab.cli.json_output import print_json, run_json

        print_json([run_json(r) for r in found])
    elif not found:
        click.echo("no runs" + (" match the filter" if filter_ else " yet"))
    else:
        from mlopslab.cli.output import print_grid, runs_table

        print_grid(runs_table(found, sort=sort))


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Everything about one run (a unique prefix or suffix of its id is enough, e.g. its last 4)."""
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        run = client.runs.get(run_id=run_id)
    if as_json:
        from mlopslab.cli.json_output import print_json, run_record

        print_json(run_record(run))
    else:
        from mlopslab.cli.follow import print_attempts
        from mlopslab.cli.output import run_detail

        run_detail(run)
        print_attempts(run)


@runs.command()
@click.argument("run_id")
@click.option("--key", help="Only this metric.")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@click.pass_context
def metrics(ctx: click.Context, run_id: str, key: str | None, as_json: bool) -> None:
    """Full metric series of a run."""
    from mlopslab.cli.output import Col, Grid, fmt_value, iso_times, local_time, print_grid, print_json
    from mlopslab.client import LabClient
    from mlopslab.core.errors import NotFound

    with LabClient(lab_of(ctx)) as client:
        series = client.runs.metrics(run_id=run_id, key=key)
        if key is not None and not series:
            keys = sorted({p.key for p in client.runs.metrics(run_id=run_id)})
            run = client.runs.get(run_id=run_id).id
            raise NotFound(f"run {run} has no metric '{key}'",
                           f"its metrics: {', '.join(keys)}" if keys else "it logged no metrics")
    if as_json:
        print_json(iso_times(series))
        return
    if not series:
        click.echo("no metrics logged")
        return
    grid = Grid([Col("KEY"), Col("STEP", justify="right"), Col("TIME"), Col("VALUE", justify="right")])
    for point in series:
        grid.add_row(point.key, str(point.step), local_time(point.ts), fmt_value(point.value))
    print_grid(grid)


@runs.command()
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
@click.pass_context
def logs(ctx: click.Context, run_id: str, follow: bool) -> None:
    """A run's logs: its steps' stdout, stderr and logging, and mlopslab's own lines."""
    from mlopslab.cli.follow import follow_logs
    from mlopslab.cli.output import console
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        if follow:
            follow_logs(client, run_id, console)
            return
        for line in client.runs.logs(run_id=run_id):
            click.echo(line.line)


@runs.command()
@click.argument("run_id")
@click.pass_context
def cancel(ctx: click.Context, run_id: str) -> None:
    """Cancel a queued or running run (one that already ended is left as it is; exit 0)."""
    from mlopslab.cli.queue_cmd import cancel_run, cancel_text
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        click.echo(cancel_text(*cancel_run(client, run_id)))
