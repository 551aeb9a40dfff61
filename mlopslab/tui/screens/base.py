"""What every screen shares: the lab header, the footer of keys, and a way to run
blocking calls in a worker and report failures as notifications."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer

from mlopslab.core.errors import MlopslabError
from mlopslab.tui.widgets.lab_header import LabHeader

if TYPE_CHECKING:
    from mlopslab.tui.app import LabApp


def selected_key(table: Any) -> str | None:
    """The row key of the highlighted row of a DataTable, or None when it is empty."""
    if not table.row_count:
        return None
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def describe(error: BaseException) -> str:
    if isinstance(error, MlopslabError):
        return error.message + (f"\n{error.hint}" if error.hint else "")
    return f"{type(error).__name__}: {error}"


class LabScreen(Screen[Any]):
    """A full screen of the lab. Subclasses give TITLE, HELP and `compose_body`."""

    TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._reloads: list[Callable[[], None]] = []
        self._busy: Counter[str] = Counter()  # calls running per group (worker threads end them)
        self._busy_lock = threading.Lock()
        self._polling = False

    @property
    def lab(self) -> LabApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        header = LabHeader(self.lab.clock, self.lab.tz)
        header.screen_title = self.TITLE
        yield header
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.lab.show_status(self)

    def refresh_while_shown(self, reload: Callable[[], None], every_s: float | None = None) -> None:
        """Call `reload` now, every `every_s` (the app's poll_s) while this screen is shown,
        and again each time the screen comes back (a mode switch, a closed dialog).

        A poll skips each call of `in_thread` whose group is still busy: a slow answer
        never queues more calls behind it. Textual's worker threads are few (min(32,
        CPUs + 4)) and shared by the whole app, so a pile of waiting polls would hold up
        every other call, the service status and its clock included."""
        self._reloads.append(reload)
        self._poll(reload)
        interval = self.lab.poll_s if every_s is None else every_s
        if interval:
            self.set_interval(interval, lambda: self._poll(reload) if self.is_current else None)

    def _poll(self, reload: Callable[[], None]) -> None:
        self._polling = True
        try:
            reload()
        finally:
            self._polling = False

    def on_screen_resume(self) -> None:
        self.lab.show_status(self)
        for reload in self._reloads:
            self._poll(reload)

    def in_thread(self, call: Callable[[], Any], then: Callable[[Any], object] | None = None,
                  group: str = "default") -> None:
        """Run `call` in a worker thread; hand its result to `then` on the UI thread.
        Within a poll (`refresh_while_shown`) it does nothing while `group` is busy."""
        with self._busy_lock:
            if self._polling and self._busy[group]:
                return
            self._busy[group] += 1

        def work() -> None:
            try:
                result = call()
            except Exception as e:  # noqa: BLE001 - every failure becomes a notification
                self.app.call_from_thread(self.notify, describe(e), title="error", severity="error")
                return
            finally:
                with self._busy_lock:
                    self._busy[group] -= 1
            if then is not None:
                self.app.call_from_thread(then, result)

        self.run_worker(work, thread=True, group=group, exit_on_error=False)


class LabModal(ModalScreen[Any]):
    """A dialog over the current screen; escape closes it."""

    BINDINGS: ClassVar = [("escape", "dismiss", "Close")]

    @property
    def lab(self) -> LabApp:
        return self.app  # type: ignore[return-value]
