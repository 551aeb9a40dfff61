"""`mlopslab drift DEPLOYMENT`: a deployment's inputs against its model's training data
(core/drift.py): per feature the latest window's scores and the thresholds they were
held to, the last windows, and whether the deployment drifts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mlopslab.cli import cli, client_of

if TYPE_CHECKING:
    from mlopslab.core.drift_policy import FeatureScore
    from mlopslab.core.drift_reports import DriftReport

STATUS_STYLE = {"drifting": "red", "stable": "green", "collecting": "cyan", "no reference": "yellow"}


@cli.command()
@click.argument("deployment")
@click.option("--windows", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="How many of the last windows to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def drift(ctx: click.Context, deployment: str, windows: int, as_json: bool) -> None:
    """Drift of DEPLOYMENT's inputs from its model's training data: per feature PSI and
    KS (numeric) or chi-square (categorical) in the latest window, with the largest
    value each may take without drifting (MAX) and the smallest p-value (P);
    the last windows; drifting when k of the last n windows drifted ([drift])."""
    from mlopslab.cli.output import print_json

    report = client_of(ctx).drift.report(name=deployment, windows=windows)
    if as_json:
        print_json(report)
        return
    _show(report)


def _show(r: DriftReport) -> None:
    from rich.markup import escape

    from mlopslab.cli.output import console, local_time

    out = console
    p = r.policy
    style = STATUS_STYLE.get(r.status, "white")
    out.print(f"[bold]{escape(r.deployment)}[/] version {r.version or '-'}: [{style}]{r.status}[/]"
              + (f" - {escape(r.message)}" if r.message else ""))
    if r.reference is not None and not r.reference.problem:
        out.print(f"reference: {escape(r.reference.source)}, {r.reference.rows} rows, "
                  f"{len(r.reference.features)} features")
    out.print(f"windows of {p.window_rows} rows; alpha {p.alpha:g} ({p.correction}) per window; "
              f"alert at {p.k} of the last {p.n}; {r.rows_collected} rows sampled"
              + (f", {r.rows_dropped} dropped by the servers" if r.rows_dropped else ""))
    if r.latest is not None:
        out.print(f"\nwindow {r.latest.index} (rows {r.latest.first_row}-"
                  f"{r.latest.first_row + r.latest.rows - 1}):")
        _features(r.latest.features)
    if r.history:
        out.print("\nlast windows, newest first:")
        for w in r.history:
            mark = "[red]drift[/]" if w.drifted else "[green]ok[/]"
            named = ", ".join(w.drifted_features[:6]) + (" ..." if len(w.drifted_features) > 6 else "")
            out.print(f"  {w.index:>5}  {local_time(w.checked_at)}  {mark}  {escape(named)}")
    for review in r.reviews[:3]:
        out.print(f"\nreview {review.id} opened {local_time(review.opened_at)}: {escape(review.message)}")


def _features(scores: list[FeatureScore]) -> None:
    """The latest window per feature; the tests no feature had (chi-square in a model of
    numbers only) are left out."""
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, print_grid

    numeric = any(s.kind == "numeric" for s in scores)
    categorical = any(s.kind == "categorical" for s in scores)
    cols = [Col("FEATURE")]
    if numeric:
        cols += [Col(h, justify="right") for h in ("PSI", "PSI MAX", "KS", "KS MAX")]
    cols.append(Col("P", justify="right"))
    if categorical:
        cols += [Col(h, justify="right") for h in ("CHI2", "CHI2 MAX")]
    grid = Grid([*cols, Col("DRIFT")])
    for s in scores:
        p = min((v for v in (s.ks_p, s.psi_p, s.chi2_p) if v is not None), default=None)
        row = [escape(s.feature)]
        if numeric:
            row += [_num(s.psi), _num(s.psi_threshold), _num(s.ks), _num(s.ks_threshold)]
        row.append("-" if p is None else f"{p:.2g}")
        if categorical:
            row += [_num(s.chi2), _num(s.chi2_threshold)]
        grid.add_row(*row, "[red]yes[/]" if s.drifted else "no")
    print_grid(grid)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
