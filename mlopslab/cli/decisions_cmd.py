"""`mlopslab feedback DEPLOYMENT --data FILE` and `mlopslab decisions [DEPLOYMENT]`:
labelled feedback scored with what a deployment serves, and the retraining it decided
(core/decisions.py; policies in [retrain.deployment.NAME])."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from mlopslab.cli import cli, client_of

if TYPE_CHECKING:
    from mlopslab.core.decisions import Decision

STATUS_STYLE = {"retraining": "cyan", "gating": "cyan", "deployed": "green", "rejected": "yellow",
                "failed": "red"}


@cli.command()
@click.argument("deployment")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="Labelled rows: the model's features and its target column (CSV or Parquet).")
@click.option("--json", "as_json", is_flag=True, help="Print the feedback and decision as JSON.")
@click.pass_context
def feedback(ctx: click.Context, deployment: str, data: str, as_json: bool) -> None:
    """Score labelled rows with DEPLOYMENT's active version.

    Below the deployment's retraining policy ([retrain.deployment.NAME] min_value or
    max_value), this starts a retraining run of the version's recipe on the policy's
    newest data; the new version serves only after it passes its gates against the
    champion (`mlopslab decisions` follows it).
    """
    from pathlib import Path

    from mlopslab.cli.output import print_json

    found = client_of(ctx).monitor.feedback(deployment, str(Path(data).resolve()),
                                            actor=getpass.getuser())
    if as_json:
        print_json(found)
        return
    fb = found.feedback
    click.echo(f"{fb.version} on {fb.rows} labelled rows: {fb.metric} {fb.value:.4g}")
    click.echo(found.why)
    if found.decision is not None:
        click.echo(f"decision {found.decision.id}: {found.decision.status} "
                   f"(follow it with `mlopslab decisions {deployment}`)")


@cli.command()
@click.argument("deployment", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@click.pass_context
def decisions(ctx: click.Context, deployment: str | None, limit: int, as_json: bool) -> None:
    """Retraining decisions (of DEPLOYMENT), newest first: why, the run, the new version,
    and how it ended (deployed, rejected by its gates, failed)."""
    from mlopslab.cli.output import print_json

    found = client_of(ctx).monitor.decisions(deployment, limit)
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("no decisions yet (`mlopslab feedback DEPLOYMENT --data FILE` makes them)")
        return
    _table(found)


def _table(found: list[Decision]) -> None:
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, Role, print_grid, when

    grid = Grid([Col("ID"), Col("DEPLOYMENT"), Col("STATUS"), Col("FROM"), Col("RUN"),
                 Col("NEW", Role.DROP, rank=2), Col("REASON", Role.WRAP, least=20),
                 Col("UPDATED", Role.DROP, rank=1)])
    for d in found:
        style = STATUS_STYLE.get(d.status, "white")
        grid.add_row(d.id, d.deployment, f"[{style}]{d.status}[/]", d.from_version, d.run_id or "-",
                     d.new_version or "-", escape(d.reason), when(d.updated_at))
    print_grid(grid)
