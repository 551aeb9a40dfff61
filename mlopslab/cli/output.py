"""How the CLI shows things: JSON for scripts, tables for people.

Tables go through `Grid`, whose columns each have a role: `KEEP` values (ids,
endpoints, statuses, numbers) are shown whole, `WRAP` text wraps between words,
`DROP` columns wrap too and are left out first when a terminal is too narrow.
Nothing is ever cut inside a word. When stdout is no terminal (a pipe, a file) the
width is not limited at all, so every value arrives whole.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from io import StringIO
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)
console.soft_wrap = not console.is_terminal  # a pipe or a file gets whole lines
err_console = Console(stderr=True, highlight=False)
GAP = 2  # spaces between columns

STATUS_STYLE = {
    "finished": "green", "running": "cyan", "queued": "yellow", "starting": "yellow",
    "failed": "red",
    "timed_out": "red", "killed": "red", "cancelled": "magenta",
}


class Role(Enum):
    """What a column may do when a table is wider than the terminal."""

    KEEP = "keep"  # ids, endpoints, statuses, numbers: always shown whole
    WRAP = "wrap"  # free text: wraps between words
    DROP = "drop"  # low value: wraps, and is left out first when still too wide


@dataclass(frozen=True)
class Col:
    """A column: its header, role and alignment. A WRAP or DROP column is not made
    narrower than `least` (or its longest word); `rank` orders DROP columns (lowest is
    left out first; on a tie the rightmost)."""

    header: str
    role: Role = Role.KEEP
    justify: Literal["left", "right"] = "left"
    rank: int = 0
    least: int = 16


@dataclass
class Grid:
    """A table of rich-markup cells, laid out by `layout` for a width."""

    cols: Sequence[Col]
    rows: list[Sequence[str]] = field(default_factory=list)
    title: str | None = None

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def __rich_console__(self, out: Console, options: Any) -> Any:
        """Laid out at the terminal's width; unlimited into a pipe or a file."""
        yield from _parts(self, options.max_width if out.is_terminal else None)


def _plain(cell: str) -> str:
    return Text.from_markup(cell).plain


def _natural(grid: Grid, i: int) -> int:
    return max([len(grid.cols[i].header)] + [Text.from_markup(r[i]).cell_len for r in grid.rows])


def _longest_word(grid: Grid, i: int) -> int:
    words = [w for r in grid.rows for line in _plain(r[i]).splitlines() for w in line.split()]
    return max([len(grid.cols[i].header)] + [Text(w).cell_len for w in words])


def layout(grid: Grid, width: int | None) -> tuple[list[int], list[int]]:
    """The columns shown and their widths. `width` None: no limit, every column at its
    natural width. Otherwise KEEP columns get their natural width and WRAP and DROP ones
    share what is left, each at least its `least`; while that is too wide, DROP columns
    are left out, then WRAP ones narrowed down to their longest word. KEEP columns alone
    may still be wider than `width`: then the table is too (its lines wrap; no value is
    cut)."""
    natural = [_natural(grid, i) for i in range(len(grid.cols))]
    if width is None:
        return list(range(len(grid.cols))), natural
    word = [n if c.role is Role.KEEP else _longest_word(grid, i)
            for i, (c, n) in enumerate(zip(grid.cols, natural, strict=True))]
    widths = {i: max(word[i], min(n, c.least)) if c.role is not Role.KEEP else n
              for i, (c, n) in enumerate(zip(grid.cols, natural, strict=True))}
    droppable = sorted((i for i, c in enumerate(grid.cols) if c.role is Role.DROP),
                       key=lambda i: (grid.cols[i].rank, -i))
    while _span(list(widths.values())) > width and droppable:
        del widths[droppable.pop(0)]
    _fit(widths, width, lower=word, upper=natural)
    return list(widths), list(widths.values())


def _fit(widths: dict[int, int], width: int, lower: list[int], upper: list[int]) -> None:
    """Narrow columns (never below `lower`) while wider than `width`, then widen them
    (never past `upper`) while narrower: one character at a time, where most is missing."""
    while (over := _span(list(widths.values())) - width) > 0:
        slack = [i for i in widths if widths[i] > lower[i]]
        if not slack:
            return
        widths[max(slack, key=lambda i: widths[i] - lower[i])] -= 1
    for _ in range(-over):
        short = [i for i in widths if widths[i] < upper[i]]
        if not short:
            return
        widths[max(short, key=lambda i: upper[i] - widths[i])] += 1


def _span(widths: list[int]) -> int:
    return sum(widths) + GAP * max(len(widths) - 1, 0)


def render(grid: Grid, width: int | None, color: bool = False) -> str:
    """The table as text for a terminal `width` wide (None: unlimited)."""
    buffer = StringIO()
    out = Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                  width=width or 10_000, highlight=False, soft_wrap=width is None)
    for part in _parts(grid, width):
        out.print(part)
    return buffer.getvalue()


def print_grid(grid: Grid) -> None:
    """Print a table on stdout: at the terminal's width, or whole into a pipe or file."""
    console.print(grid, crop=False)


def _parts(grid: Grid, width: int | None) -> list[Any]:
    """The title, the table and a note of the columns left out; or, where even the
    columns that are kept whole cannot fit `width`, one block of `HEADER  value` lines
    per row, so that no value is broken."""
    shown, widths = layout(grid, width)
    title: list[Any] = [Text(grid.title, style="bold")] if grid.title else []
    if width is not None and _span(widths) > width:
        return title + _records(grid)
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False,
                  padding=(0, GAP // 2), width=max(_span(widths), 1))
    for i, w in zip(shown, widths, strict=True):
        col = grid.cols[i]
        table.add_column(col.header, width=w, justify=col.justify,
                         no_wrap=col.role is Role.KEEP, overflow="fold")
    for row in grid.rows:
        table.add_row(*(row[i] for i in shown))
    parts = [*title, table]
    left_out = [grid.cols[i].header for i in range(len(grid.cols)) if i not in shown]
    if left_out:
        parts.append(Text(f"not shown at this width: {', '.join(left_out)} (see --json)",
                          style="dim"))
    return parts


def _records(grid: Grid) -> list[Any]:
    pad = max(len(c.header) for c in grid.cols)
    parts: list[Any] = []
    for n, row in enumerate(grid.rows):
        parts += [Text("")] if n else []
        parts += [Text.assemble((f"{c.header:<{pad}}  ", "bold"), Text.from_markup(cell))
                  for c, cell in zip(grid.cols, row, strict=True)]
    return parts


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """The documented `runs show --json` shape."""
    keys = ["id", "status", "reason", "recipe", "project", "user", "params", "metrics", "seed",
            "code_version", "data_version", "inputs", "artifacts", "steps", "resources",
            "deps", "host", "gpu_ids", "attempt", "priority", "queued_at", "started_at",
            "ended_at", "duration_s", "error", "recipe_path", "pid", "worker_pid"]
    full = {**run, "user": run.get("user_name"),
            "queued_at": run.get("queued_at") or run.get("created_at"), "duration_s": duration(run)}
    return {k: full.get(k) for k in keys}


def duration(run: dict[str, Any]) -> float | None:
    start, end = run.get("started_at"), run.get("ended_at")
    if not start:
        return None
    stop = datetime.fromisoformat(end) if end else datetime.now(datetime.fromisoformat(start).tzinfo)
    return round((stop - datetime.fromisoformat(start)).total_seconds(), 3)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def local_time(iso: str | None, short: bool = False) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime(
        "%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def when(iso: str | None, now: datetime | None = None) -> str:
    """A time in local time, as short as is clear: `12:01:33` today, else `2026-12-01 12:01`."""
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso).astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    return at.strftime("%H:%M:%S" if at.date() == today else "%Y-%m-%d %H:%M")


def age(iso: str | None, now: datetime | None = None) -> str:
    """How long since: `45s`, `3m`, `2h05m`, `3d`."""
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso)
    seconds = max(0, int(((now or datetime.now(at.tzinfo)) - at).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def ago(iso: str | None, now: datetime | None = None) -> str:
    """`3m ago`."""
    return f"{age(iso, now)} ago" if iso else "-"


def plural(n: float, noun: str, nouns: str | None = None) -> str:
    """`1 GPU`, `2 GPUs`, `0.5 GPU`, `1 run`, `0 runs` (fractions up to one count as one)."""
    one = 0 < abs(n) <= 1
    return f"{n:g} {noun if one else nouns or noun + 's'}"


def runs_table(runs: list[dict[str, Any]], metric_keys: int = 3, sort: str | None = None) -> Grid:
    """One line per run. A metric or param the runs are sorted by gets its own column;
    in a narrow terminal params are left out first, then the start time, the duration
    and the recipe."""
    kind, key = sort_field(sort)
    cols = [Col("ID"), Col("RECIPE", Role.DROP, rank=3), Col("STATUS")]
    if key:
        cols.append(Col(key.upper(), justify="right"))
    cols += [Col("STARTED", Role.DROP, rank=1), Col("DURATION", Role.DROP, "right", rank=2),
             Col("PARAMS", Role.DROP), Col("METRICS", Role.WRAP)]
    grid = Grid(cols)
    for run in runs:
        params, metrics = run.get("params") or {}, run.get("metrics") or {}
        sorted_by = ([fmt_value((metrics if kind == "metrics" else params).get(key, "-"))]
                     if key else [])
        shown = [k for k in metrics if not (kind == "metrics" and k == key)][:metric_keys]
        grid.add_row(run["id"], run["recipe"], status_text(run["status"]), *sorted_by,
                     when(run.get("started_at")), fmt_duration(duration(run)),
                     " ".join(f"{k}={fmt_value(v)}" for k, v in params.items()) or "-",
                     " ".join(f"{k}={fmt_value(metrics[k])}" for k in shown) or "-")
    return grid


def sort_field(sort: str | None) -> tuple[str | None, str | None]:
    """`-metrics.acc`, `params.lr:asc` -> ("metrics", "acc"), ("params", "lr"); else Nones."""
    if not sort:
        return None, None
    body = sort.strip().lstrip("+-").rsplit(":", 1)[0].strip()
    kind, dot, name = body.partition(".")
    if not dot or kind.lower() not in ("metrics", "params"):
        return None, None
    return kind.lower(), name.strip("`")


def run_detail(run: dict[str, Any]) -> None:
    out = console.print
    out(f"[bold]run {run['id']}[/]  {status_text(run['status'])}"
        + (f"  ({run['reason']})" if run.get("reason") else ""))
    rows = [
        ("recipe", f"{run['recipe']}  ({run['recipe_path']})"),
        ("project / user", f"{run['project']} / {run.get('user_name')}"),
        ("seed", run.get("seed")), ("attempt", run.get("attempt")),
        ("code version", run.get("code_version")), ("data version", run.get("data_version")),
        ("host", run.get("host")), ("gpu ids", run.get("gpu_ids")),
        ("queued / started", f"{local_time(run['created_at'])} / {local_time(run.get('started_at'))}"),
        ("ended", f"{local_time(run.get('ended_at'))}  ({fmt_duration(duration(run))})"),
    ]
    for label, value in rows:
        out(f"  [dim]{label:<17}[/]{value if value is not None else '-'}")
    _section("params", [(k, fmt_value(v)) for k, v in (run.get("params") or {}).items()])
    _section("metrics (last)", [(k, fmt_value(v)) for k, v in run.get("metrics", {}).items()])
    _section("inputs", [(i["name"], f"{i['hash']} ({i['source']}) {i['path']}")
                        for i in run.get("inputs", [])])
    _section("steps", [(s["name"], s["status"] + (" (cache)" if s.get("cached") else ""))
                       for s in run.get("steps", [])])
    _section("artifacts", [(a["path"], f"sha256:{a['sha256']} {a['size']} B ({a['kind']})")
                           for a in run.get("artifacts", [])])
    if run.get("error"):
        out(f"[red]error[/]: {run['error']}")


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    console.print(f"[bold]{title}[/]")
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        console.print(f"  {key:<{width}}{value}", soft_wrap=True)
