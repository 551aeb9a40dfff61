"""`mlopslab alerts` and `mlopslab alerts ack ID`: what the monitor found (one alert
per rule and subject, core/alerts.py), and acknowledging it."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from mlopslab.cli import cli, client_of

if TYPE_CHECKING:
    from mlopslab.core.alerts import Alert

SEVERITY_STYLE = {"critical": "red", "warning": "yellow", "info": "cyan"}


@cli.group(invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="Resolved alerts too.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Most alerts shown, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
@click.pass_context
def alerts(ctx: click.Context, everything: bool, limit: int, as_json: bool) -> None:
    """Open and acknowledged alerts, newest first (`--all`: resolved ones too).

    An alert resolves itself when its condition clears; `alerts ack ID` acknowledges one.
    """
    from mlopslab.cli.output import print_json

    if ctx.invoked_subcommand is not None:
        return
    found = client_of(ctx).monitor.alerts(all=everything, limit=limit)
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("no alerts" if everything else "no open alerts (`--all` shows resolved ones)")
        return
    _alerts_table(found)


@alerts.command()
@click.argument("alert_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the alert as JSON.")
@click.pass_context
def ack(ctx: click.Context, alert_id: str, as_json: bool) -> None:
    """Acknowledge an alert: seen, still open until its condition clears (an occurrence,
    such as a lost run, is resolved by it). A unique prefix or suffix of the id works."""
    from mlopslab.cli.output import print_json

    alert = client_of(ctx).monitor.ack(id=alert_id, actor=getpass.getuser())
    if as_json:
        print_json(alert)
        return
    click.echo(f"alert {alert.id} ({alert.rule} {alert.subject}): {alert.status}"
               + (f" by {alert.acked_by}" if alert.acked_by else ""))


def _alerts_table(found: list[Alert]) -> None:
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, Role, print_grid, when

    grid = Grid([Col("ID"), Col("SEVERITY"), Col("RULE"), Col("STATUS", Role.DROP, rank=3),
                 Col("SUBJECT", Role.DROP, rank=2), Col("MESSAGE", Role.WRAP, least=20),
                 Col("COUNT", justify="right"), Col("FIRST SEEN", Role.DROP, rank=1),
                 Col("LAST SEEN")])
    for a in found:
        style = SEVERITY_STYLE.get(a.severity, "white")
        grid.add_row(a.id, f"[{style}]{a.severity}[/]", a.rule, a.status, escape(a.subject),
                     escape(a.message), str(a.count), when(a.first_seen), when(a.last_seen))
    print_grid(grid)
