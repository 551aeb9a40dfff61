"""How the CLI shows things: JSON for scripts (mlopslab.cli.json_output, whose names
this module offers too), tables (mlopslab.cli.grid) for people. When stdout is no
terminal (a pipe, a file) lines are not limited in width, so every value arrives whole.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from mlopslab.cli.grid import Col, Grid, Role  # the commands import them from here too
from mlopslab.cli.json_output import (  # the commands import them from here too
    RUN_JSON_KEYS,
    attempt_json,
    duration,
    iso_times,
    print_json,
    run_json,
)
from mlopslab.core.durations import format_duration
from mlopslab.core.run import Run
from mlopslab.core.status_style import STATUS_STYLE

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
for _out in (console, err_console):
    _out.soft_wrap = not _out.is_terminal  # a pipe or a file gets whole lines

__all__ = ["RUN_JSON_KEYS", "Col", "Grid", "Role", "ago", "age", "attempt_json", "console",
           "duration", "err_console", "fmt_value", "iso_times", "local_time", "plural",
           "print_grid", "print_json", "run_detail", "run_json", "runs_table", "sort_field",
           "status_text", "when"]


def print_grid(grid: Grid) -> None:
    """Print a table on stdout: at the terminal's width, or whole into a pipe or file."""
    console.print(grid, crop=False)


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


Moment = datetime | str | None
"""A time as a noun holds it (an aware datetime) or as ISO text; None: not (yet)."""


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def local_time(iso: Moment, short: bool = False) -> str:
    if not iso:
        return "-"
    return _moment(iso).astimezone().strftime(
        "%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def when(iso: Moment, now: datetime | None = None) -> str:
    """A time in local time, as short as is clear: `12:01:33` today, else `2026-12-01 12:01`."""
    if not iso:
        return "-"
    at = _moment(iso).astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    return at.strftime("%H:%M:%S" if at.date() == today else "%Y-%m-%d %H:%M")


def age(iso: Moment, now: datetime | None = None) -> str:
    """How long since: `45s`, `3m`, `2h05m`, `3d`."""
    if not iso:
        return "-"
    at = _moment(iso)
    seconds = max(0, int(((now or datetime.now(at.tzinfo)) - at).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def ago(iso: Moment, now: datetime | None = None) -> str:
    """`3m ago`."""
    return f"{age(iso, now)} ago" if iso else "-"


def plural(n: float, noun: str, nouns: str | None = None) -> str:
    """`1 GPU`, `2 GPUs`, `0.5 GPU`, `1 run`, `0 runs` (fractions up to one count as one)."""
    one = 0 < abs(n) <= 1
    return f"{n:g} {noun if one else nouns or noun + 's'}"


def runs_table(runs: list[Run], metric_keys: int = 3, sort: str | None = None) -> Grid:
    """One line per run. A metric or param the runs are sorted by gets its own column;
    in a narrow terminal params are left out first, then the start time, the duration,
    (when sorted by one) the other metrics, and the recipe."""
    kind, key = sort_field(sort)
    cols = [Col("ID"), Col("RECIPE", Role.DROP, rank=4), Col("STATUS")]
    if key:
        cols.append(Col(key.upper(), justify="right"))
    cols += [Col("STARTED", Role.DROP, rank=1), Col("DURATION", Role.DROP, "right", rank=2),
             Col("PARAMS", Role.DROP), Col("METRICS", Role.DROP if key else Role.WRAP, rank=3)]
    grid = Grid(cols)
    for run in runs:
        params, metrics = run.params or {}, run.metrics or {}
        sorted_by = ([fmt_value((metrics if kind == "metrics" else params).get(key, "-"))]
                     if key else [])
        shown = [k for k in _by_importance(run, metrics) if not (kind == "metrics" and k == key)][:metric_keys]
        grid.add_row(run.id, escape(run.recipe), status_text(run.status),
                     *map(escape, sorted_by), when(run.started_at),
                     format_duration(duration(run), tenths=True),
                     escape(" ".join(f"{k}={fmt_value(v)}" for k, v in params.items()) or "-"),
                     escape(" ".join(f"{k}={fmt_value(metrics[k])}" for k in shown) or "-"))
    return grid


def _by_importance(run: Run, metrics: dict[str, float | None]) -> list[str]:
    """The run's metric names, its recipe's primary metric and declared metrics first."""
    first = _declared_metrics(str(run.recipe_path or ""))
    return sorted(metrics, key=lambda k: first.index(k) if k in first else len(first))


@functools.lru_cache(maxsize=64)
def _declared_metrics(recipe_path: str) -> list[str]:
    from mlopslab.core.errors import MlopslabError
    from mlopslab.core.recipe import load_recipe

    try:
        recipe = load_recipe(recipe_path)
    except (MlopslabError, OSError):
        return []
    primary = recipe.model.primary or recipe.evaluation.primary
    return list(dict.fromkeys([m for m in (primary, *recipe.evaluation.metrics) if m]))


def sort_field(sort: str | None) -> tuple[str | None, str | None]:
    """`-metrics.acc`, `params.lr:asc` -> ("metrics", "acc"), ("params", "lr"); else Nones."""
    if not sort:
        return None, None
    body = sort.strip().lstrip("+-").rsplit(":", 1)[0].strip()
    kind, dot, name = body.partition(".")
    if not dot or kind.lower() not in ("metrics", "params"):
        return None, None
    return kind.lower(), name.strip("`")


def run_detail(run: Run) -> None:
    out = console.print
    out(f"[bold]run {run.id}[/]  {status_text(run.status)}"
        + (f"  ({run.reason})" if run.reason else ""))
    rows = [
        ("recipe", f"{run.recipe}  ({run.recipe_path})"),
        ("project / user", f"{run.project} / {run.user_name}"),
        ("seed", run.seed), ("attempt", run.attempt),
        ("code version", run.code_version), ("data version", run.data_version),
        ("host", run.host), ("gpu ids", run.gpu_ids),
        ("queued / started", f"{local_time(run.created_at)} / {local_time(run.started_at)}"),
        ("ended", f"{local_time(run.ended_at)}  ({format_duration(duration(run), tenths=True)})"),
    ]
    for label, value in rows:
        out(f"  [dim]{label:<17}[/]{value if value is not None else '-'}")
    _section("params", [(k, fmt_value(v)) for k, v in (run.params or {}).items()])
    _section("metrics (last)", [(k, fmt_value(v)) for k, v in run.metrics.items()])
    _section("inputs", [(i.name, f"{i.hash} ({i.source}) {i.path}") for i in run.inputs or ()])
    _section("steps", [(s.name, s.status + (" (cache)" if s.cached else "")) for s in run.steps or ()])
    _section("artifacts", [(a.path, f"sha256:{a.sha256} {a.size} B ({a.kind})")
                           for a in run.artifacts or ()])
    if run.error:
        out(f"[red]error[/]: {run.error}")


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    console.print(f"[bold]{title}[/]")
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        console.print(f"  {key:<{width}}{value}", soft_wrap=True)
