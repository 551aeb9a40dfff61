"""`mlopslab cost` and `mlopslab budget set|ls|clear`: what runs and deployments cost
(by what they held and by what they used), and the budgets that limit it. The numbers
are the lab service's (core/cost.py, core/budgets.py); this module only shows them."""

from __future__ import annotations

import getpass
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli import cli, client_of, scope_of
from mlopslab.core.cost import money as amount

if TYPE_CHECKING:
    from mlopslab.cli.grid import Grid
    from mlopslab.core.budgets import BudgetUse
    from mlopslab.core.cost import CostLine, CostReport

BY = ("run", "project", "user", "deployment", "day")
WHEN_HELP = ("a duration back from now (90s, 30m, 7d), an ISO date or date and time "
             "in UTC (2026-12-01, 2026-12-01T08:00), or `all`")


def moment(text: str | None, now: datetime, option: str = "--since") -> datetime | None:
    """`--since`/`--until` text as a UTC time; None for `all` (or no text)."""
    from mlopslab.core.durations import parse_duration
    from mlopslab.core.errors import ConfigError

    if text is None or text.strip().lower() == "all":
        return None
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option} '{text}' is not a time", f"give {WHEN_HELP}") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@cli.command()
@click.option("--by", type=click.Choice(BY), default="project", show_default=True,
              help="What each line is.")
@click.option("--since", metavar="WHEN",
              help=f"From when: {WHEN_HELP} (default: the start of this month, UTC).")
@click.option("--until", metavar="WHEN", help="Until when (default: now); same forms.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def cost(ctx: click.Context, by: str, since: str | None, until: str | None,
         as_json: bool) -> None:
    """Cost by allocation (what was held) and by use (what was busy), with idle waste.

    GPU-H: GPU-hours held; BUSY-H: busy GPU-hours (measured by the monitor); BUSY: the
    share busy; WASTE: idle held GPU-hours priced; KWH: GPU energy; BY ALLOC, BY USE:
    the cost (CPU and memory by allocation in both). GPU-hours on a GPU with no rate (a
    logical GPU, a model not in `[cost] gpu_hourly`) are shown as unpriced, never as
    free. Days are UTC days.
    """
    from mlopslab.cli.output import print_grid, print_json

    now = datetime.now(UTC)
    start = month_start(now) if since is None else moment(since, now)
    end = moment(until, now, "--until")
    report = client_of(ctx).monitor.cost(by=by, since=start.timestamp() if start else None,
                                         until=end.timestamp() if end else None)
    if as_json:
        print_json({**vars(report), "total": total(report.lines, report.currency)})
        return
    if not report.lines:
        click.echo(f"no cost by {report.by} from {_span(report)}: nothing ran or was served")
        return
    print_grid(cost_grid(report))


def total(lines: list[CostLine], currency: str) -> CostLine:
    """One line adding up `lines` (the peak memory is the highest)."""
    from mlopslab.core.cost import CostLine

    summed = CostLine("total", currency=currency)
    for line in lines:
        for f in fields(CostLine):
            value = getattr(line, f.name)
            if f.name == "peak_gpu_memory":
                summed.peak_gpu_memory = max(summed.peak_gpu_memory, value)
            elif isinstance(value, float) and f.name not in ("busy_pct", "idle_gpu_hours"):
                setattr(summed, f.name, getattr(summed, f.name) + value)
    return summed.finish()


def _span(report: CostReport) -> str:
    return f"{_utc(report.since) if report.since else 'the start'} to {_utc(report.until)}"


def cost_grid(report: CostReport) -> Grid:
    """A line per key and a total; an UNPRICED column when some GPU-hours have no rate."""
    from mlopslab.cli.output import Col, Grid, Role

    unpriced = any(line.unpriced_gpu_hours for line in report.lines)
    grid = Grid([Col(report.by.upper()), Col("GPU-H", justify="right"),
                 Col("BUSY-H", justify="right"), Col("BUSY", justify="right"),
                 Col("WASTE", justify="right"), Col("KWH", Role.DROP, "right"),
                 Col("BY ALLOC", justify="right"), Col("BY USE", justify="right"),
                 *([Col("UNPRICED", Role.WRAP, least=11)] if unpriced else [])],
                title=f"cost by {report.by}, {_span(report)}, in {report.currency}")
    for line in [*report.lines, total(report.lines, report.currency)]:
        grid.add_row(*_cost_cells(line, unpriced))
    return grid


def _cost_cells(line: CostLine, unpriced: bool) -> list[str]:
    from rich.markup import escape

    key = f"[bold]{line.key}[/]" if line.key == "total" else escape(line.key)
    busy = f"{line.busy_pct:.0f}%" if line.busy_pct is not None else "-"
    cells = [key, hours(line.gpu_hours_allocated), hours(line.gpu_hours_busy), busy,
             money(line.idle_waste), hours(line.energy_kwh), money(line.cost_allocated),
             money(line.cost_used)]
    if unpriced:
        u = line.unpriced_gpu_hours
        cells.append(f"+{hours(u)} GPU-h unpriced" if u else "-")
    return cells


def hours(value: float) -> str:
    """Hours (or kWh): 2 decimals, 2 significant digits below 0.01, `0` for none."""
    if value == 0:
        return "0"
    return f"{value:.2f}" if value >= 0.01 else f"{value:.2g}"


def money(value: float) -> str:
    """A cost cell of the narrow tables: cents, `<0.01` under half a cent."""
    if value == 0:
        return "0.00"
    return f"{value:.2f}" if value >= 0.005 else "<0.01"


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- budgets ----------------------------------------------------------------------------

@cli.group()
def budget() -> None:
    """Per-project and per-user spending limits a UTC day and month (cost by allocation)."""


def _scope(project: str | None, user: str | None) -> tuple[str, str]:
    return scope_of(project, user, "mlopslab budget set --project vision --daily 50")


@budget.command("set")
@click.option("--project", help="The project the budget limits.")
@click.option("--user", help="The user the budget limits.")
@click.option("--daily", type=click.FloatRange(min=0, min_open=True), metavar="AMOUNT",
              help="Most to spend a UTC day, in the lab's currency.")
@click.option("--monthly", type=click.FloatRange(min=0, min_open=True), metavar="AMOUNT",
              help="Most to spend a UTC month.")
@click.option("--hard/--soft", default=None,
              help="Hard: at 100% new runs of the project or user are to wait in the queue "
              "(the queue does not apply it yet: both raise alerts only). Default: as it was, "
              "else soft.")
@click.option("--json", "as_json", is_flag=True, help="Print the budget as JSON.")
@click.pass_context
def budget_set(ctx: click.Context, project: str | None, user: str | None, daily: float | None,
               monthly: float | None, hard: bool | None, as_json: bool) -> None:
    """Set a project's or user's budget; limits not given stay as they were.

    Alerts are raised when spending crosses `[cost] budget_alerts_pct` (80% and 100%).
    """
    from mlopslab.cli.output import print_json
    from mlopslab.core.errors import ConfigError

    scope, name = _scope(project, user)
    client = client_of(ctx)
    old = next((u.budget for u in client.monitor.budgets()
                if (u.budget.scope, u.budget.name) == (scope, name)), None)
    daily = daily if daily is not None else old.daily if old else None
    monthly = monthly if monthly is not None else old.monthly if old else None
    if daily is None and monthly is None:
        raise ConfigError("give a limit: --daily AMOUNT and/or --monthly AMOUNT")
    use = client.monitor.set_budget(
        scope=scope, name=name, daily=daily, monthly=monthly,
        hard=hard if hard is not None else bool(old and old.hard), actor=getpass.getuser())
    if as_json:
        print_json(budget_json(use))
        return
    click.echo(f"budget of {scope} '{name}': {_limits_text(use)}")


@budget.command("clear")
@click.option("--project", help="The project.")
@click.option("--user", help="The user.")
@click.pass_context
def budget_clear(ctx: click.Context, project: str | None, user: str | None) -> None:
    """Remove a project's or user's budget (one it does not have: said so, exit 0)."""
    scope, name = _scope(project, user)
    if client_of(ctx).monitor.clear_budget(scope=scope, name=name, actor=getpass.getuser()):
        click.echo(f"budget of {scope} '{name}' cleared")
    else:
        click.echo(f"{scope} '{name}' has no budget: nothing to clear")


@budget.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the budgets as JSON.")
@click.pass_context
def budget_ls(ctx: click.Context, as_json: bool) -> None:
    """Every budget, with what its project or user spent today and this month (UTC)."""
    from mlopslab.cli.output import print_json

    uses = client_of(ctx).monitor.budgets()
    if as_json:
        print_json([budget_json(u) for u in uses])
        return
    if not uses:
        click.echo("no budgets (set one with `mlopslab budget set --project P --daily AMOUNT`)")
        return
    _budget_table(uses)


def budget_json(use: BudgetUse) -> dict[str, Any]:
    """The documented `budget ls --json` item: the budget, what was spent, the share of
    each limit spent (percent; null without that limit)."""
    b = use.budget
    return {"scope": b.scope, "name": b.name, "daily": b.daily, "monthly": b.monthly,
            "hard": b.hard, "spent_today": use.spent_today, "spent_month": use.spent_month,
            "daily_pct": _pct(use, "daily"), "monthly_pct": _pct(use, "monthly"),
            "exhausted": use.exhausted, "unpriced_gpu_hours_month": use.unpriced_gpu_hours_month,
            "currency": use.currency, "updated_at": b.updated_at, "actor": b.actor}


def _pct(use: BudgetUse, period: str) -> float | None:
    share = use.share(period)
    return None if share is None else round(100.0 * share, 2)


def _budget_table(uses: list[BudgetUse]) -> None:
    from rich.markup import escape

    from mlopslab.cli.output import Col, Grid, Role, print_grid

    unpriced = any(u.unpriced_gpu_hours_month for u in uses)
    grid = Grid([Col("SCOPE"), Col("NAME"), Col("TODAY", justify="right"),
                 Col("DAILY", justify="right"), Col("DAY%", justify="right"),
                 Col("MONTH", justify="right"), Col("MONTHLY", justify="right"),
                 Col("MONTH%", justify="right"), Col("HARD"),
                 *([Col("UNPRICED", Role.WRAP, least=10)] if unpriced else []),
                 Col("SET BY", Role.DROP)],
                title=f"budgets (spent today and this month, UTC, in {uses[0].currency})")
    for u in uses:
        b = u.budget
        extra = ([f"+{hours(u.unpriced_gpu_hours_month)} GPU-h unpriced"
                  if u.unpriced_gpu_hours_month else "-"] if unpriced else [])
        grid.add_row(b.scope, escape(b.name), money(u.spent_today), _limit(b.daily),
                     _share(u, "daily"), money(u.spent_month), _limit(b.monthly),
                     _share(u, "monthly"), "hard" if b.hard else "-", *extra,
                     escape(b.actor or "-"))
    print_grid(grid)


def _limit(value: float | None) -> str:
    return amount(value) if value else "-"


def _share(use: BudgetUse, period: str) -> str:
    pct = _pct(use, period)
    if pct is None:
        return "-"
    style = "red" if pct >= 100 else "yellow" if pct >= 80 else ""
    return f"[{style}]{pct:.0f}%[/]" if style else f"{pct:.0f}%"


def _limits_text(use: BudgetUse) -> str:
    b, parts = use.budget, []
    for period, limit in (("daily", b.daily), ("monthly", b.monthly)):
        if limit:
            parts.append(f"{amount(limit)} {use.currency} {period} ({_pct(use, period):.0f}% spent)")
    return ", ".join(parts) + (", hard" if b.hard else "")
