"""Tables whose columns have roles, laid out for a width: `KEEP` values (ids,
endpoints, statuses, numbers) are shown whole, `WRAP` text wraps between words, `DROP`
columns wrap too and are left out first when a terminal is too narrow. Nothing is cut
inside a word; where even the kept columns cannot fit, each row becomes a block of
`HEADER  value` lines. Width None (stdout is no terminal): no limit at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from io import StringIO
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

GAP = 2  # spaces between columns


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
