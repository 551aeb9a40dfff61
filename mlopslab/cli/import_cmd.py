"""`mlopslab import mlflow URI`: an MLflow history into the lab (mlflow_compat/importer.py)."""

from __future__ import annotations

import click

from mlopslab.cli import cli, lab_of
from mlopslab.core.errors import MlopslabError


@cli.group("import")
def import_group() -> None:
    """Bring another tracker's history into the lab."""


@import_group.command("mlflow")
@click.argument("uri")
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@click.pass_context
def import_mlflow_cmd(ctx: click.Context, uri: str, as_json: bool) -> None:
    """Import the MLflow store at URI (sqlite:///PATH, an mlruns folder, or http://HOST:PORT):
    experiments as projects; runs under their MLflow ids with params, tags, every metric
    point and its timestamp, status and times; artifacts (copied, hashed); registered
    models, versions and aliases. Again later, it adds only what changed. Ends with the
    count of each entity in MLflow and in the lab; exit 1 when any differ.
    """
    try:
        from mlopslab.mlflow_compat.importer import COUNTED, import_mlflow, say_to_stderr
    except ImportError as e:
        raise MlopslabError(f"importing from MLflow needs the mlflow extra ({e.name} is missing)",
                            'pip install "mlopslab[mlflow]"') from None
    from mlopslab.cli.output import Col, Grid, print_grid, print_json
    from mlopslab.client import LabClient

    lab = lab_of(ctx)
    with LabClient(lab) as client:
        counts = import_mlflow(lab, client, uri, say_to_stderr)
    if as_json:
        print_json({"uri": uri, "matches": counts.matches, "mlflow": counts.mlflow, "lab": counts.lab,
                    "added_runs": counts.added_runs, "updated_runs": counts.updated_runs,
                    "unchanged_runs": counts.unchanged_runs, "added_metric_points": counts.added_points,
                    "added_artifacts": counts.added_artifacts, "problems": counts.problems})
    else:
        click.echo(f"{counts.added_runs} runs added, {counts.updated_runs} updated, {counts.unchanged_runs} "
                   f"unchanged; {counts.added_points} metric points and {counts.added_artifacts} artifacts added")
        grid = Grid([Col("ENTITY"), Col("MLFLOW", justify="right"), Col("LAB", justify="right"), Col("")])
        for name in COUNTED:
            same = counts.mlflow[name] == counts.lab[name]
            grid.add_row(name, str(counts.mlflow[name]), str(counts.lab[name]), "ok" if same else "DIFFERS")
        print_grid(grid)
        for problem in counts.problems:
            click.echo(f"not imported: {problem}", err=True)
    if not counts.matches:
        raise MlopslabError("the lab does not hold what MLflow has (see the counts above)",
                            "import again; if it still differs, report it with the counts")
