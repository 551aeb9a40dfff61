"""`mlopslab queue`, `mlopslab cancel` and `mlopslab quota set|ls|clear`."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli import cli, lab_of, scope_of

if TYPE_CHECKING:
    from mlopslab.client import LabClient
    from mlopslab.core.queue import QueueView, QuotaUsage
    from mlopslab.core.run import Run


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_context
def queue(ctx: click.Context, as_json: bool) -> None:
    """Waiting and running runs; waiting ones in the order they will start, with why each waits.

    SINCE is when a waiting run was queued or a running one started; FOR how long ago.
    """
    from mlopslab.cli.json_output import iso_times, print_json
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        found = client.queue.show()
    if as_json:
        print_json(iso_times(found))
        return
    _queue_table(found)


def _queue_table(found: QueueView) -> None:
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, Role, age, plural, print_grid, status_text, when

    cap = found.capacity
    if not found.runs:
        click.echo(f"queue: empty (no queued or running runs; the cluster offers "
                   f"{plural(cap.gpus, 'GPU')}, {plural(cap.cpus, 'CPU')})")
        click.echo("GPU-hours per project and user: mlopslab quota ls")
        return
    grid = Grid([Col("#", justify="right"), Col("RUN"), Col("STATUS"),
                 Col("PROJECT", Role.DROP, rank=3), Col("USER", Role.DROP, rank=2),
                 Col("GPUS", justify="right"), Col("CPUS", justify="right"),
                 Col("PRIO", Role.DROP, justify="right"), Col("SINCE", Role.DROP, rank=1),
                 Col("FOR", justify="right"), Col("WHY", Role.WRAP, least=24)],
                title=f"queue ({plural(cap.gpus, 'GPU')}, {plural(cap.cpus, 'CPU')})")
    for run in found.runs:
        res = run.resources
        since = run.queued_at if run.status == "queued" else run.started_at or run.queued_at
        grid.add_row(str(run.position or ""), run.id, status_text(run.status),
                     escape(run.project), escape(run.user or "-"), f"{res.gpus:g}",
                     f"{res.cpus:g}", str(run.priority or 0),
                     when(since), age(since),
                     escape(run.reason or "-") if run.status == "queued" else "-")
    print_grid(grid)


@cli.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
def cancel(ctx: click.Context, run_ids: tuple[str, ...], as_json: bool) -> None:
    """Cancel queued or running runs (a running one's step is stopped; its GPUs are freed).

    A run that already ended is left as it is and said so; the exit code is 0 either way.
    """
    from mlopslab.cli.json_output import print_json, run_json
    from mlopslab.client import LabClient

    done = []
    with LabClient(lab_of(ctx)) as client:
        for run_id in run_ids:  # each said at once: an unknown id later leaves these told
            done.append(cancel_run(client, run_id))
            if not as_json:
                click.echo(cancel_text(*done[-1]))
    if as_json:
        print_json([{**run_json(run), "cancelled_now": now} for run, now in done])


def cancel_run(client: LabClient, run_id: str) -> tuple[Run, bool]:
    """Cancel one run; the run after, and whether this call cancelled it (False: it had
    already ended)."""
    from mlopslab.core.runs import ACTIVE

    run = client.runs.get(run_id=run_id)
    if run.status not in ACTIVE:
        return run, False
    after = client.runs.cancel(run_id=run.id, actor=getpass.getuser())
    return after, after.status == "cancelled"


def cancel_text(run: Run, now: bool) -> str:
    if now:
        return f"run {run.id}: cancelled"
    return f"run {run.id} had already ended ({run.status}): nothing to cancel"


@cli.group()
def quota() -> None:
    """Per-project and per-user limits: concurrent GPUs and runs, GPU-hours a day, time limit."""


def _scope(project: str | None, user: str | None) -> tuple[str, str]:
    return scope_of(project, user, "mlopslab quota set --project vision --max-gpus 2")


@quota.command("set")
@click.option("--project", help="The project the quota limits.")
@click.option("--user", help="The user the quota limits.")
@click.option("--max-gpus", type=float, help="Most GPUs in use at once (fractions count).")
@click.option("--max-runs", type=int, help="Most runs starting or running at once.")
@click.option("--gpu-hours-per-day", type=float, help="GPU-hours in any 24 h; then GPU runs wait.")
@click.option("--max-time-limit", metavar="DURATION",
              help="Longest time limit a run may ask for, e.g. 12h (also the default limit).")
@click.option("--json", "as_json", is_flag=True, help="Print the quota as JSON.")
@click.pass_context
def quota_set(ctx: click.Context, project: str | None, user: str | None, as_json: bool,
              **limits: Any) -> None:
    """Set limits of a project's or user's quota; limits not given stay as they were.

    Runs over a quota wait in the queue; a run that could never fit is rejected.
    """
    from mlopslab.api.queue import QuotaLimits
    from mlopslab.cli.output import print_json
    from mlopslab.client import LabClient
    from mlopslab.core.errors import ConfigError

    scope, name = _scope(project, user)
    given = {k: v for k, v in limits.items() if v is not None}
    if not given:
        raise ConfigError("give at least one limit (--max-gpus, --max-runs, "
                          "--gpu-hours-per-day, --max-time-limit)")
    with LabClient(lab_of(ctx)) as client:
        row = client.queue.set_quota(scope=scope, name=name, limits=QuotaLimits(**given),
                                     actor=getpass.getuser())
    if as_json:
        print_json(row)
        return
    click.echo(f"quota of {scope} '{name}': {_limits_text(row)}")


@quota.command("clear")
@click.option("--project", help="The project.")
@click.option("--user", help="The user.")
@click.pass_context
def quota_clear(ctx: click.Context, project: str | None, user: str | None) -> None:
    """Remove a stored quota (the lab config's quota, if any, applies again)."""
    from mlopslab.client import LabClient

    scope, name = _scope(project, user)
    with LabClient(lab_of(ctx)) as client:
        client.queue.clear_quota(scope=scope, name=name, actor=getpass.getuser())
    click.echo(f"quota of {scope} '{name}' cleared")


@quota.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the quotas as JSON.")
@click.pass_context
def quota_ls(ctx: click.Context, as_json: bool) -> None:
    """Every quota in effect, where it comes from (config or lab) and what is in use."""
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, Role, plural, print_grid, print_json
    from mlopslab.client import LabClient

    with LabClient(lab_of(ctx)) as client:
        rows = client.queue.quotas()
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no quotas (set one with `mlopslab quota set --project P --max-gpus N`)")
        return
    grid = Grid([Col("SCOPE"), Col("NAME"), Col("LIMITS", Role.WRAP), Col("IN USE", Role.WRAP, least=8),
                 Col("GPU-H 24H", justify="right"), Col("FROM", Role.DROP)])
    for row in rows:
        grid.add_row(row.scope, escape(row.name), _limits_text(row),
                     f"{plural(row.gpus_in_use, 'GPU')}, {plural(row.runs_in_use, 'run')}",
                     f"{row.gpu_hours_24h:.2f}", row.source)
    print_grid(grid)


def _limits_text(row: QuotaUsage) -> str:
    from mlopslab.cli.output import plural
    from mlopslab.core.durations import format_duration

    parts = []
    if row.max_gpus is not None:
        parts.append(plural(row.max_gpus, "GPU"))
    if row.max_runs is not None:
        parts.append(plural(row.max_runs, "run"))
    if row.gpu_hours_per_day is not None:
        parts.append(f"{row.gpu_hours_per_day:g} GPU-h/day")
    if row.max_time_limit_s is not None:
        parts.append(f"time limit <= {format_duration(row.max_time_limit_s)}")
    return ", ".join(parts) or "no limits"
