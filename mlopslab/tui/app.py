"""The Textual app: a shell of screens over one lab.

`build_app` is the one factory: `mlopslab tui`, the tests, the benchmark and the
screenshot script all make the app through it. The app never blocks: service
calls run in worker threads and come back as messages or `call_from_thread`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from mlopslab.core.alerts import Alert
from mlopslab.core.gpus import GpuHistory, GpuSource
from mlopslab.core.service_status import ServiceStatus
from mlopslab.lab import Lab
from mlopslab.tui.backend import GpuReading, LabBackend
from mlopslab.tui.screens.alerts import AlertsScreen
from mlopslab.tui.screens.base import LabScreen, describe
from mlopslab.tui.screens.cost import CostScreen
from mlopslab.tui.screens.dashboard import DashboardScreen
from mlopslab.tui.screens.deployments import DeploymentsScreen
from mlopslab.tui.screens.gpus import GpusScreen
from mlopslab.tui.screens.help import HelpScreen
from mlopslab.tui.screens.models import ModelsScreen
from mlopslab.tui.screens.queue import QueueScreen
from mlopslab.tui.screens.recipes import RecipesScreen
from mlopslab.tui.screens.runs import RunsScreen
from mlopslab.tui.widgets.lab_header import LabHeader

# (mode name, key, title, screen): the top-level screens, in key order
SCREENS: list[tuple[str, str, str, Callable[[], Screen[Any]]]] = [
    ("dashboard", "1", "Dashboard", DashboardScreen),
    ("runs", "2", "Runs", RunsScreen),
    ("queue", "3", "Queue", QueueScreen),
    ("recipes", "4", "Recipes", RecipesScreen),
    ("gpus", "5", "GPUs", GpusScreen),
    ("models", "6", "Models", ModelsScreen),
    ("deployments", "7", "Deployments", DeploymentsScreen),
    ("alerts", "8", "Alerts", AlertsScreen),
    ("cost", "9", "Cost", CostScreen),
]


class GpusSampled(Message):
    """A new GPU reading. Bursts coalesce: only the newest one matters."""

    def __init__(self, reading: GpuReading) -> None:
        super().__init__()
        self.reading = reading

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpusSampled)


class StatusChecked(Message):
    def __init__(self, status: ServiceStatus | None, problem: str | None,
                 alerts: list[Alert] | None = None) -> None:
        super().__init__()
        self.status, self.problem, self.alerts = status, problem, alerts


class LabApp(App[None]):
    """mlopslab's terminal UI."""

    CSS_PATH = "app.tcss"
    TITLE = "mlopslab"
    MODES: ClassVar = {name: screen for name, _, _, screen in SCREENS}
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar = [
        *(Binding(key, f"switch_mode('{name}')", title, show=False) for name, key, title, _ in SCREENS),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, backend: LabBackend, *, clock: Callable[[], float] = time.time,
                 tz: tzinfo | None = None, poll_s: float = 2.0, gpu_poll_s: float = 1.0,
                 start: str = "dashboard") -> None:
        super().__init__()
        self.backend = backend
        self.clock, self.tz = clock, tz
        self.poll_s, self.gpu_poll_s = poll_s, gpu_poll_s
        self.start_mode = start
        self.status: ServiceStatus | None = None
        self.status_problem: str | None = None
        self.alerts: list[Alert] | None = None  # open and acknowledged, for the header's badge
        self.gpu_history = GpuHistory(size=60)
        self.gpu_reading: GpuReading | None = None
        self._feeds_busy: set[str] = set()

    def on_mount(self) -> None:
        self.switch_mode(self.start_mode)
        self.check_status()
        self.sample_gpus()
        if self.poll_s:
            self.set_interval(max(self.poll_s, 2.0), self.check_status)
        if self.gpu_poll_s:
            self.set_interval(self.gpu_poll_s, self.sample_gpus)

    def on_unmount(self) -> None:
        self.backend.close()

    # background feeds -------------------------------------------------------

    def check_status(self) -> None:
        """Ask for the service's status, unless the last ask is still waiting (see `_once`)."""
        self._once("status", self._check_status)

    def sample_gpus(self) -> None:
        self._once("gpus", self._sample_gpus)

    def _once(self, feed: str, work: Callable[[], None]) -> None:
        """Run a feed in a worker thread, one call at a time: a slow answer skips ticks
        instead of queueing a call per tick in the few worker threads every screen shares."""
        if feed in self._feeds_busy:
            return
        self._feeds_busy.add(feed)

        def run() -> None:
            try:
                work()
            finally:
                self._feeds_busy.discard(feed)

        self.run_worker(run, thread=True, group=feed, exit_on_error=False)

    def _check_status(self) -> None:
        try:
            status = self.backend.client.service.ping()
        except Exception as e:  # noqa: BLE001 - shown in the header and a notification
            self.post_message(StatusChecked(None, describe(e)))
            return
        try:
            alerts: list[Alert] | None = list(self.backend.client.monitor.alerts())
        except Exception:  # noqa: BLE001 - a service without a monitor: no badge
            alerts = None
        self.post_message(StatusChecked(status, None, alerts))

    def _sample_gpus(self) -> None:
        try:
            self.post_message(GpusSampled(self.backend.gpus()))
        except Exception as e:  # noqa: BLE001
            self.call_from_thread(self.notify, describe(e), title="GPUs", severity="error")

    def on_status_checked(self, message: StatusChecked) -> None:
        if message.problem and message.problem != self.status_problem:
            self.notify(message.problem, title="lab service", severity="error")
        self.status, self.status_problem = message.status, message.problem
        self.alerts = message.alerts
        if self.screen_stack:  # not while the app shuts down
            self.show_status(self.screen)

    def on_gpus_sampled(self, message: GpusSampled) -> None:
        self.gpu_history.add(message.reading.snapshot)
        self.gpu_reading = message.reading
        if not self.screen_stack:
            return
        for view in self.screen.query(".gpu-view"):
            view.show(message.reading, self.gpu_history)  # type: ignore[attr-defined]

    def show_status(self, screen: Screen[Any]) -> None:
        for header in screen.query(LabHeader):
            header.lab_name = self.backend.name
            header.status, header.problem = self.status, self.status_problem
            header.alerts = self.alerts

    # actions ----------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Everything by name: the app's actions (every screen, help, quit, theme...), then
        the actions of the screen the palette was opened on and of its focused widget."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "the keys of this screen (key ?)", self.action_help)
        for name, key, title, _ in SCREENS:
            yield SystemCommand(f"Go to {title}", f"the {title.lower()} screen (key {key})",
                                lambda name=name: self.switch_mode(name))
        title = getattr(screen, "TITLE", "") or "this screen"
        ours = {b.action if isinstance(b, Binding) else b[1] for cls in type(screen).__mro__
                if issubclass(cls, LabScreen) for b in cls.__dict__.get("BINDINGS", [])}
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            node, binding = active.node, active.binding
            own = node is screen and binding.action in ours  # not Textual's focus and copy keys
            if node is self or not binding.description or not (own or (node is not screen and binding.show)):
                continue  # the app's own are above; a widget's hidden ones are moves
            if binding.description in seen:
                continue
            seen.add(binding.description)
            yield SystemCommand(f"{title}: {binding.description}", f"key {self.get_key_display(binding)}",
                                lambda action=binding.action, node=node: self.call_later(self.run_action, action, node))


def build_app(lab: Lab, *, gpu_source: GpuSource | None = None, **options: Any) -> LabApp:
    """The app over `lab`. `gpu_source` replaces the service's GPU readings (demo, tests)."""
    return LabApp(LabBackend(lab, gpu_source), **options)
