"""A run table that stays fast at any size: it draws only the lines on screen
(Textual's Line API) and fetches the rows it shows in pages of a windowed query.

Nothing here knows about the service: the screen gives it `fetch(offset, limit)`
and `count()`, which run in worker threads; pages arrive as messages. Moving the
cursor over rows already fetched costs one repaint, however many runs there are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from mlopslab.core.run import Run
from mlopslab.core.status_style import STATUS_ICON, STATUS_STYLE
from mlopslab.tui.format import cell

PAGE = 100
MAX_PAGES = 64
MARK = "●"

Fetch = Callable[[int, int], list[Run]]


@dataclass(frozen=True)
class Column:
    """A run field shown as a column: `status`, `metrics.acc`, `params.lr`..."""

    field: str
    width: int

    @property
    def title(self) -> str:
        return self.field.removeprefix("metrics.").removeprefix("params.").removesuffix("_at")


BASE_COLUMNS = (
    Column("id", 18), Column("status", 11), Column("recipe", 18), Column("created_at", 10),
    Column("duration", 8), Column("user", 6), Column("project", 8),
)


def default_columns(metrics: list[str], params: list[str], primary: list[str]) -> list[Column]:
    """The columns a run table opens with, most useful first, so that a narrow terminal
    shows them without scrolling: id, status, the recipes' primary metrics, recipe and
    age, then the other metrics, params, user and project."""
    first = [m for m in primary if m in metrics] or metrics[:1]
    rest = [m for m in metrics if m not in first][: max(0, 3 - len(first))]
    base = {c.field: c for c in BASE_COLUMNS}

    def named(fields: list[str]) -> list[Column]:
        return [base.get(f) or Column(f, default_width(f)) for f in fields]

    return named(["id", "status", *(f"metrics.{m}" for m in first), "recipe", "created_at", "duration",
                  *(f"metrics.{m}" for m in rest), *(f"params.{p}" for p in params[:3]), "user", "project"])


def default_width(field: str) -> int:
    for column in BASE_COLUMNS:
        if column.field == field:
            return column.width
    return max(9, min(17, len(field.split(".", 1)[-1]) + 1))


class RunsTable(Widget, can_focus=True):
    """Runs, one a line, with a row cursor, a column cursor and marks."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    RunsTable > .runs-table--header { text-style: bold; background: $panel; }
    RunsTable > .runs-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    RunsTable:blur > .runs-table--cursor { background: $block-cursor-blurred-background; }
    RunsTable > .runs-table--column { text-style: bold underline; }
    RunsTable > .runs-table--loading { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"runs-table--header", "runs-table--cursor", "runs-table--column",
                         "runs-table--loading"}
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("left,h", "column(-1)", "Column left", show=False),
        Binding("right,l", "column(1)", "Column right", show=False),
        Binding("space", "mark", "Mark"),
        Binding("enter", "open", "Open"),
    ]

    total: reactive[int] = reactive(0, always_update=True)
    cursor: reactive[int] = reactive(0)
    column: reactive[int] = reactive(0)

    class Opened(Message):
        """The user chose a run (enter)."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    class Moved(Message):
        """The cursor, the marks or the row count changed."""

    class PageLoaded(Message):
        def __init__(self, generation: int, page: int, rows: list[Run]) -> None:
            super().__init__()
            self.generation, self.page, self.rows = generation, page, rows

    class CountLoaded(Message):
        def __init__(self, generation: int, total: int) -> None:
            super().__init__()
            self.generation, self.total = generation, total

    class Failed(Message):
        """A fetch failed; the screen says why."""

        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = error

    def __init__(self, now: Callable[[], float], *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.now = now
        self.columns: list[Column] = list(BASE_COLUMNS)
        self.marked: dict[str, Run] = {}
        self.top = 0
        self.first_column = 1  # the first scrolled column; `id` stays on the left
        self._fetch: Fetch | None = None
        self._count: Callable[[], int] | None = None
        self._pages: OrderedDict[int, list[Run]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0
        self._live = 0  # calls of the last live reload still running
        self._live_lock = threading.Lock()

    # data -----------------------------------------------------------------

    def load(self, fetch: Fetch, count: Callable[[], int]) -> None:
        """Show another query's rows (a new filter or sort): drop every cached page."""
        self._fetch, self._count = fetch, count
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self.cursor = self.top = 0
        self._load_count(self._generation)
        self._ensure_pages()
        self.refresh()

    def reload(self) -> None:
        """Fetch the visible pages again (live updates), keeping the cursor. Skipped while
        the last reload still waits: a slow service never gets a queue of them."""
        if self._fetch is None or self._live:
            return
        self._generation += 1
        self._pending.clear()
        pages = list(self._visible_pages())
        with self._live_lock:
            self._live += 1 + len(pages)
        self._load_count(self._generation, live=True)
        for page in pages:
            self._load_page(self._generation, page, live=True)

    def _live_done(self) -> None:
        with self._live_lock:
            self._live -= 1

    @property
    def loaded(self) -> bool:
        """Every line on screen has its row."""
        return all(p in self._pages for p in self._visible_pages())

    def row(self, index: int) -> Run | None:
        rows = self._pages.get(index // PAGE)
        if rows is None or index % PAGE >= len(rows):
            return None
        return rows[index % PAGE]

    @property
    def current(self) -> Run | None:
        return self.row(self.cursor)

    @property
    def current_field(self) -> str:
        return self.columns[self.column].field

    def set_columns(self, columns: list[Column]) -> None:
        self.columns = columns
        self.column = min(self.column, len(columns) - 1)
        self.first_column = 1
        self.refresh()

    @work(thread=True, group="runs-count")
    def _load_count(self, generation: int, live: bool = False) -> None:
        assert self._count is not None
        try:
            self.post_message(self.CountLoaded(generation, self._count()))
        except Exception as e:  # noqa: BLE001 - shown by the screen
            self.post_message(self.Failed(e))
        finally:
            if live:
                self._live_done()

    @work(thread=True, group="runs-page")
    def _load_page(self, generation: int, page: int, live: bool = False) -> None:
        assert self._fetch is not None
        try:
            self.post_message(self.PageLoaded(generation, page, self._fetch(page * PAGE, PAGE)))
        except Exception as e:  # noqa: BLE001 - shown by the screen
            self.post_message(self.Failed(e))
        finally:
            if live:
                self._live_done()

    def on_runs_table_count_loaded(self, message: CountLoaded) -> None:
        message.stop()
        if message.generation == self._generation:
            self.total = message.total
            self.cursor = min(self.cursor, max(0, self.total - 1))
            self._scroll_to_cursor()
            self.post_message(self.Moved())

    def on_runs_table_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self._pending.discard(message.page)
        self._pages[message.page] = message.rows
        self._pages.move_to_end(message.page)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        self.post_message(self.Moved())

    def _visible_pages(self) -> range:
        last = min(self.top + self.body_height, max(self.total, 1)) - 1
        return range(self.top // PAGE, max(self.top, last) // PAGE + 1)

    def _ensure_pages(self) -> None:
        if self._fetch is None:
            return
        for page in self._visible_pages():
            if page not in self._pages and page not in self._pending:
                self._pending.add(page)
                self._load_page(self._generation, page)

    # moving ---------------------------------------------------------------

    @property
    def body_height(self) -> int:
        return max(1, self.size.height - 1)

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta * self.body_height, self.top + delta * self.body_height)

    def action_jump(self, where: int) -> None:
        self._set_cursor(where if where >= 0 else self.total - 1)

    def action_column(self, delta: int) -> None:
        self.column = max(0, min(len(self.columns) - 1, self.column + delta))
        if self.column >= 1:
            self.first_column = min(self.first_column, self.column)
            while self.first_column < self.column and not self._fits(self.first_column, self.column):
                self.first_column += 1
        self.refresh()

    def action_mark(self) -> None:
        run = self.current
        if run is None:
            return
        if run.id in self.marked:
            del self.marked[run.id]
        else:
            self.marked[run.id] = run
        self._set_cursor(self.cursor + 1)
        self.post_message(self.Moved())

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current.id))

    def _set_cursor(self, index: int, top: int | None = None) -> None:
        self.cursor = max(0, min(index, self.total - 1))
        if top is not None:
            self.top = max(0, min(top, self.total - self.body_height))
        self._scroll_to_cursor()
        self._ensure_pages()
        self.refresh()
        self.post_message(self.Moved())

    def _scroll_to_cursor(self) -> None:
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.body_height:
            self.top = self.cursor - self.body_height + 1
        self.top = max(0, self.top)

    def on_resize(self, event: events.Resize) -> None:
        self._scroll_to_cursor()
        self._ensure_pages()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._set_cursor(self.cursor + 3, self.top + 3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._set_cursor(self.cursor - 3, self.top - 3)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._set_cursor(self.top + event.y - 1)

    # drawing --------------------------------------------------------------

    def _fits(self, first: int, last: int) -> bool:
        used = 2 + self.columns[0].width + 1
        used += sum(c.width + 1 for c in self.columns[first:last + 1])
        return used <= self.size.width

    def _shown(self) -> list[int]:
        shown, used = [0], 2 + self.columns[0].width + 1
        for i in range(self.first_column, len(self.columns)):
            if used + self.columns[i].width > self.size.width and len(shown) > 1:
                break
            shown.append(i)
            used += self.columns[i].width + 1
        return shown

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        shown = self._shown()
        if y == 0:
            return self._header(shown, width)
        index = self.top + y - 1
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        run = self.row(index)
        base = self.rich_style
        if index == self.cursor and self.has_focus:
            base = base + self.get_component_rich_style("runs-table--cursor")
        elif index == self.cursor:
            base = base + self.get_component_rich_style("runs-table--cursor", partial=True)
        if run is None:
            loading = self.get_component_rich_style("runs-table--loading")
            return Strip([Segment(f"  {'…':<{width - 2}}"[:width], base + loading)], width)
        now = self.now()
        marked = run.id in self.marked
        segments = [Segment(f"{MARK} " if marked else "  ", base + Style(color="magenta", bold=True))]
        for i in shown:
            column = self.columns[i]
            text = cell(run, column.field, now)
            style = base
            if column.field == "status":
                text = f"{STATUS_ICON.get(text, ' ')} {text}"
                style = base + Style.parse(STATUS_STYLE.get(run.status, ""))
            numeric = column.field.startswith(("metrics.", "params.")) or column.field in ("duration",)
            text = _fit(text, column.width, right=numeric)
            segments.append(Segment(text + " ", style))
        return Strip(segments).adjust_cell_length(width, base)

    def _header(self, shown: list[int], width: int) -> Strip:
        style = self.get_component_rich_style("runs-table--header")
        current = self.get_component_rich_style("runs-table--column")
        segments = [Segment("  ", style)]
        for i in shown:
            column = self.columns[i]
            title = _fit(column.title, column.width, right=column.field.startswith(("metrics.", "params.")))
            segments.append(Segment(title, style + current if i == self.column else style))
            segments.append(Segment(" ", style))
        return Strip(segments).adjust_cell_length(width, style)


def _fit(text: str, width: int, right: bool = False) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)
