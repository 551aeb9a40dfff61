"""Two or more runs side by side: params (differences in bold yellow), last
metrics, and each metric's curves over steps in one chart (one metric_curves call a
metric for all the runs, downsampled by the service)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from mlopslab.core.curves import MetricCurve
from mlopslab.core.run import Run
from mlopslab.tui.format import number
from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.widgets.metric_chart import MetricView, chart_order

Series = dict[str, dict[str, tuple[list[float], list[float]]]]  # metric -> run -> (steps, values)


class CompareScreen(LabScreen):
    TITLE = "Compare"
    HELP = ("The marked runs side by side. Rows whose values differ are highlighted; "
            "m shows the next metric's curves, escape goes back.")
    BINDINGS: ClassVar = [Binding("escape", "back", "Back"), Binding("m", "next_metric", "Metric")]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.series: Series = {}
        self.metric_index = 0

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="compare-table", cursor_type="row")
        yield MetricView(id="compare-chart")

    def on_mount(self) -> None:
        super().on_mount()
        client, ids = self.lab.backend.client.runs, list(self.run_ids)

        def load() -> tuple[list[Run], dict[str, list[MetricCurve]]]:
            runs = [client.get(i) for i in ids]
            full = [r.id for r in runs]
            keys = sorted({k for r in runs for k in (r.metrics or {})})
            return runs, {k: client.curves(full, k) for k in keys}

        self.in_thread(load, self._loaded)

    def _loaded(self, loaded: tuple[list[Run], dict[str, list[MetricCurve]]]) -> None:
        runs, curves = loaded
        table = self.query_one(DataTable)
        table.add_column("", key="field")
        for run in runs:
            table.add_column(run.id, key=run.id)
        rows: list[tuple[str, list[Any]]] = [
            ("recipe", [r.recipe for r in runs]), ("status", [r.status for r in runs]),
            ("seed", [r.seed for r in runs]),
        ]
        for key in sorted({k for r in runs for k in (r.params or {})}):
            rows.append((f"params.{key}", [(r.params or {}).get(key) for r in runs]))
        for key in sorted({k for r in runs for k in (r.metrics or {})}):
            rows.append((f"metrics.{key}", [(r.metrics or {}).get(key) for r in runs]))
        for name, values in rows:
            differ = len({repr(v) for v in values}) > 1
            style = "bold yellow" if differ else ""
            table.add_row(Text(name, style or "cyan"), *(Text(number(v), style) for v in values))
        self.series = {key: {c.run_id: (c.x, c.y) for c, run in zip(of_key, runs, strict=True)
                             if key in (run.metrics or {})} for key, of_key in curves.items()}
        self._draw()

    def _draw(self) -> None:
        keys = chart_order(self.series)
        if keys:
            key = keys[self.metric_index % len(keys)]
            self.query_one(MetricView).show(f"{key}  (m: next metric)", self.series[key])

    def action_next_metric(self) -> None:
        self.metric_index += 1
        self._draw()

    def action_back(self) -> None:
        self.dismiss()
