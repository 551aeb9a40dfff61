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

from rich.cells import cell_len
from rich.console import Console
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
        yield from _parts(self, options.max_width if out.is_terminal else None, out)


Cells = list[list[Text]]


def _cells(grid: Grid) -> Cells:
    """The header and the rows, parsed once."""
    head = [Text(c.header, style="bold") for c in grid.cols]
    return [head, *([Text.from_markup(c) if "[" in c else Text(c) for c in row] for row in grid.rows)]


def layout(grid: Grid, width: int | None) -> tuple[list[int], list[int]]:
    """The columns shown and their widths (see `_layout`)."""
    return _layout(grid.cols, _cells(grid), width)


def _layout(cols: Sequence[Col], cells: Cells, width: int | None) -> tuple[list[int], list[int]]:
    """`width` None: no limit, every column at its natural width. Otherwise KEEP columns
    get their natural width and WRAP and DROP ones share what is left, each at least its
    `least`; while that is too wide, DROP columns are left out, then WRAP ones narrowed
    down to their longest word. KEEP columns alone may still be wider than `width`."""
    natural = [max(row[i].cell_len for row in cells) for i in range(len(cols))]
    if width is None:
        return list(range(len(cols))), natural
    word = [n if c.role is Role.KEEP else max(cell_len(w) for row in cells for w in
                                              row[i].plain.split() or [""])
            for i, (c, n) in enumerate(zip(cols, natural, strict=True))]
    widths = {i: max(word[i], min(n, c.least)) if c.role is not Role.KEEP else n
              for i, (c, n) in enumerate(zip(cols, natural, strict=True))}
    droppable = sorted((i for i, c in enumerate(cols) if c.role is Role.DROP),
                       key=lambda i: (cols[i].rank, -i))
    least = dict(widths)
    dropped = []
    while _span(list(widths.values())) > width and droppable:
        dropped.append(droppable.pop(0))
        del widths[dropped[-1]]
    for i in reversed(dropped[:-1]):  # one left out late may let an earlier one back in
        if _span([*widths.values(), least[i]]) <= width:
            widths = {j: least[j] for j in sorted([*widths, i])}
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
    for part in _parts(grid, width, out):
        out.print(part)
    return buffer.getvalue()


def _parts(grid: Grid, width: int | None, out: Console) -> list[Text]:
    """The title, the table and a note of the columns left out; or, where even the
    columns that are kept whole cannot fit `width`, one block of `HEADER  value` lines
    per row, so that no value is broken."""
    cells = _cells(grid)
    shown, widths = _layout(grid.cols, cells, width)
    title = [Text(grid.title, style="bold")] if grid.title else []
    if width is not None and _span(widths) > width:
        return title + _records(grid.cols, cells, width, out)
    lines = Text("\n").join(_lines(grid.cols, cells, shown, widths, out))
    left_out = [c.header for i, c in enumerate(grid.cols) if i not in shown]
    note = [Text(f"not shown at this width: {', '.join(left_out)} (see --json)", style="dim")]
    return [*title, lines, *(note if left_out else [])]


def _lines(cols: Sequence[Col], cells: Cells, shown: list[int], widths: list[int],
           out: Console) -> list[Text]:
    """Each row as lines: cells padded to their column, WRAP and DROP ones wrapped."""
    lines = []
    for row in cells:
        blocks = [row[i].split("\n") if cols[i].role is Role.KEEP
                  else row[i].wrap(out, w, overflow="fold") for i, w in zip(shown, widths, strict=True)]
        for k in range(max(len(b) for b in blocks)):
            line = Text()
            for n, (block, i, w) in enumerate(zip(blocks, shown, widths, strict=True)):
                piece = block[k].copy() if k < len(block) else Text()
                piece.align(cols[i].justify, w)
                line.append_text(piece)
                line.append(" " * GAP if n < len(blocks) - 1 else "")
            line.rstrip()
            lines.append(line)
    return lines


def _records(cols: Sequence[Col], cells: Cells, width: int, out: Console) -> list[Text]:
    """`HEADER  value` lines per row, a blank line between rows; a long value wraps
    between words, indented under itself."""
    pad = max(len(c.header) for c in cols) + GAP
    parts: list[Text] = []
    for n, row in enumerate(cells[1:]):
        parts += [Text("")] if n else []
        for c, cell in zip(cols, row, strict=True):
            lines = cell.wrap(out, max(width - pad, 1), overflow="fold")
            for k, line in enumerate(lines):
                line.rstrip()
                parts.append(Text.assemble((f"{c.header if not k else '':<{pad}}", "bold"), line))
    return parts
