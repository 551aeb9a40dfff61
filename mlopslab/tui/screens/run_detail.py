"""One run: overview with lineage, params, metric charts, artifacts, live logs,
and the actions rerun, resume and cancel."""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Log, Static, TabbedContent, TabPane

from mlopslab.core.durations import format_duration
from mlopslab.core.run import LogLine, MetricPoint, Run
from mlopslab.core.runs import FINAL, RESUMABLE
from mlopslab.core.status_style import STATUS_ICON, STATUS_STYLE
from mlopslab.tui.format import ago, number, run_duration, size
from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.screens.confirm import ConfirmModal
from mlopslab.tui.widgets.metric_chart import MetricView, chart_order

TABS = ("overview", "params", "metrics", "artifacts", "logs")
Loaded = tuple[Run, list[MetricPoint], list[LogLine]]


class RunDetailScreen(LabScreen):
    TITLE = "Run"
    HELP = ("One run. t switches tabs, m shows the next metric, r reruns it with the same "
            "params, R resumes a failed run from its failed step, x cancels a queued or "
            "running run, escape goes back. Logs and metrics follow a running run live.")
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
        Binding("t", "next_tab", "Tab"),
        Binding("m", "next_metric", "Metric"),
        Binding("r", "rerun", "Rerun"),
        Binding("R", "resume", "Resume"),
        Binding("x", "cancel", "Cancel run"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: Run | None = None
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.metric_index = 0
        self.last_seq = -1
        self.following = True

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="run-summary")
        with TabbedContent(id="run-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static("", id="run-overview")
            with TabPane("Params", id="params"):
                yield DataTable(id="run-params", cursor_type="row", zebra_stripes=True)
            with TabPane("Metrics", id="metrics"):
                yield Static("", id="run-metric-values")
                yield MetricView(id="run-chart")
            with TabPane("Artifacts", id="artifacts"):
                yield DataTable(id="run-artifacts", cursor_type="row")
            with TabPane("Logs", id="logs"):
                yield Log(id="run-logs", highlight=False, auto_scroll=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#run-params", DataTable).add_columns("param", "value")
        self.query_one("#run-artifacts", DataTable).add_columns("path", "kind", "size", "sha256")
        self.refresh_run()
        if self.lab.poll_s:
            self.set_interval(min(1.0, self.lab.poll_s), self._follow)

    def _follow(self) -> None:
        if self.following and self.is_current:
            self._poll(self.refresh_run)  # skipped while the last fetch still waits

    def refresh_run(self) -> None:
        backend, run_id, after = self.lab.backend, self.run_id, self.last_seq

        def fetch() -> Loaded:
            run = backend.client.runs.get(run_id)
            return run, backend.client.runs.metrics(run.id), backend.client.runs.logs(run.id, after, 2000)

        self.in_thread(fetch, self._loaded, group="run")

    def _loaded(self, result: Loaded) -> None:
        run, points, logs = result
        first = self.run is None
        self.run, self.run_id = run, run.id
        self.following = run.status not in FINAL
        self._show_summary(run)
        self.query_one("#run-overview", Static).update(overview(run, self.lab.clock()))
        if first:
            params = self.query_one("#run-params", DataTable)
            for key, value in sorted((run.params or {}).items()):
                params.add_row(key, number(value))
            artifacts = self.query_one("#run-artifacts", DataTable)
            for a in run.artifacts or ():
                artifacts.add_row(a.path, a.kind or "", size(a.size), a.sha256)
        elif run.artifacts and not self.query_one("#run-artifacts", DataTable).row_count:
            for a in run.artifacts:
                self.query_one("#run-artifacts", DataTable).add_row(a.path, a.kind or "", size(a.size), a.sha256)
        self._show_metrics(run, points)
        if logs:
            self.last_seq = logs[-1].seq
            self.query_one("#run-logs", Log).write_lines(
                [f"{'!' if row.stream == 'stderr' else ' '} {row.line}" for row in logs])

    def _show_summary(self, run: Run) -> None:
        status = run.status
        text = Text.assemble((f" {STATUS_ICON.get(status, '')} {status} ", STATUS_STYLE.get(status, "")),
                             (run.id, "bold"), f"  {run.recipe}  {run.project}/{run.user_name}")
        text.append(f"  {format_duration(run_duration(run, self.lab.clock()), missing='—')}")
        if run.reason or run.error:
            text.append(f"\n {run.reason or ''} {run.error or ''}".rstrip(), "red")
        self.query_one("#run-summary", Static).update(text)

    def _show_metrics(self, run: Run, points: list[MetricPoint]) -> None:
        series: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for p in points:
            if p.value is not None:
                series[p.key][0].append(p.step)
                series[p.key][1].append(p.value)
        self.series = dict(series)
        last = "  ".join(f"{k} {number(v)}" for k, v in sorted((run.metrics or {}).items()))
        self.query_one("#run-metric-values", Static).update(
            Text(last or "no metrics logged yet", style="bold") + Text("   (m: next metric)", style="dim"))
        self._draw_chart()

    def _draw_chart(self) -> None:
        by_key = {key: {self.run_id: points} for key, points in self.series.items()}
        keys = chart_order(by_key)
        if not keys:
            return
        key = keys[self.metric_index % len(keys)]
        self.query_one(MetricView).show(key, by_key[key])

    # actions ----------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active or TABS[0]) + 1) % len(TABS)]

    def action_next_metric(self) -> None:
        self.metric_index += 1
        self._draw_chart()

    def action_rerun(self) -> None:
        if self.run is None:
            return
        run = self.run
        self.in_thread(lambda: self.lab.backend.rerun(run), self._opened_new)

    def action_resume(self) -> None:
        if self.run is None:
            return
        if self.run.status not in RESUMABLE:
            self.notify("only a failed, timed out or killed run resumes", title="resume")
            return
        self.in_thread(lambda: self.lab.backend.client.runs.resume(self.run_id), self._resumed)

    def action_cancel(self) -> None:
        if self.run is None or self.run.status in FINAL:
            self.notify("this run is not queued or running", title="cancel")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.in_thread(lambda: self.lab.backend.client.runs.cancel(self.run_id, actor="tui"), self._cancelled)

        self.app.push_screen(ConfirmModal(f"Cancel run {self.run_id}?"), confirmed)

    def _cancelled(self, _: Run) -> None:
        self.notify(f"cancelling {self.run_id}")
        self.refresh_run()

    def _opened_new(self, run: Run) -> None:
        self.notify(f"started run {run.id}", title="rerun")
        self.app.switch_screen(RunDetailScreen(run.id))

    def _resumed(self, run: Run) -> None:
        self.notify(f"resumed run {run.id} (attempt {run.attempt})", title="resume")
        self.following, self.run = True, None
        self.refresh_run()


def overview(run: Run, now: float) -> Table:
    """Provenance, resources, times, and the lineage data -> run -> artifacts."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    resources = run.resources.to_json()
    rows = [
        ("seed", str(run.seed)),
        ("code", str(run.code_version or "—")),
        ("data", str(run.data_version or "—")),
        ("resources", ", ".join(f"{k} {number(v)}" for k, v in resources.items() if v is not None)),
        ("host / GPUs", f"{run.host or '—'} / {run.gpu_ids or '—'}"),
        ("attempt", str(run.attempt or 1)),
        ("created", ago(run.created_at, now)),
        ("started", ago(run.started_at, now)),
        ("ended", ago(run.ended_at, now)),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    for step in run.steps or ():
        cached = " (cached)" if step.cached else ""
        grid.add_row("step", Text(f"{step.name}: {step.status}{cached}", STATUS_STYLE.get(step.status, "")))
    for item in run.inputs or ():
        grid.add_row("input", f"{item.name} {item.hash[:20]}… → this run")
    for art in run.artifacts or ():
        grid.add_row("output", f"this run → {art.path} {art.sha256[:12]}…")
    if run.error:
        grid.add_row("error", Text(str(run.error), "red"))
    return grid
