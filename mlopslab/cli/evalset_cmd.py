"""`mlopslab models eval-set NAME [--data FILE]`: the data a model's versions are compared on."""

from __future__ import annotations

import getpass

import click

from mlopslab.cli import client_of
from mlopslab.cli.models_cmd import JSON, _file, models


@models.command("eval-set")
@click.argument("name")
@click.option("--data", type=click.Path(),
              help="Make this CSV/Parquet file the model's evaluation set (a new set version).")
@click.option("--reason", help="Why the evaluation set changes (kept with it and audited).")
@JSON
@click.pass_context
def eval_set(ctx: click.Context, name: str, data: str | None, reason: str | None,
             as_json: bool) -> None:
    """Show model NAME's evaluation sets (the first in force), or set a new one with --data.

    Gates score the candidate and the champion on the evaluation set in force, and
    refuse the comparison when either trained on any of its rows (docs/registry.md).
    """
    from mlopslab.cli.output import print_json

    if data:
        made = client_of(ctx).models.set_evaluation_set(name=name, data=_file(data, "--data"),
                                                        actor=getpass.getuser(), reason=reason)
        if as_json:
            print_json(made)
            return
        click.echo(f"{name}: evaluation set {made.version} is {made.data} ({made.rows} rows); "
                   f"later gates compare on it")
        return
    sets = client_of(ctx).models.evaluation_sets(name=name)
    if as_json:
        print_json(sets)
        return
    if not sets:
        click.echo(f"{name}: no evaluation set yet; gates use each candidate's holdout")
        return
    for i, s in enumerate(sets):
        state = "in force" if i == 0 else "earlier"
        why = f" ({s.reason})" if s.reason else ""
        click.echo(f"set {s.version}  {state}  {s.rows} rows  {s.source}{why}")
        click.echo(f"  {s.data}")
