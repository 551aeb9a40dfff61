"""Metric curves over steps, one line per run (plotext, drawn in braille); a metric
logged once (no steps to draw) shows as its plain value instead."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from mlopslab.tui.format import number

Series = dict[str, tuple[list[float], list[float]]]  # label (a run) -> (steps, values)


def chart_order(series: dict[str, Series]) -> list[str]:
    """Metric names, those with a curve (two steps or more) first, each group by name."""
    return sorted(series, key=lambda key: (not has_curve(series[key]), key))


def has_curve(series: Series) -> bool:
    return any(len(steps) > 1 for steps, _ in series.values())


class MetricChart(PlotextPlot):
    """Plots `series`: label -> (steps, values)."""

    DEFAULT_CSS = "MetricChart { height: 1fr; min-height: 8; }"

    def show(self, title: str, series: Series) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("step")
        for label, (steps, values) in series.items():
            if steps:
                plt.plot(steps, values, label=label, marker="braille")
        self.refresh()


class MetricView(Vertical):
    """One metric: its curves when it has steps, else each run's single value as text."""

    DEFAULT_CSS = """
    MetricView { height: 1fr; }
    MetricView > .metric-value { height: auto; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", classes="metric-value")
        yield MetricChart()

    def show(self, title: str, series: Series) -> None:
        chart, value = self.query_one(MetricChart), self.query_one(".metric-value", Static)
        curve = has_curve(series)
        chart.display, value.display = curve, not curve
        if curve:
            chart.show(title, series)
            return
        text = Text(f"{title}\n", "bold")
        for label, (steps, values) in series.items():
            shown = number(values[-1]) if values else "—"
            text.append(f"\n{label}  ", "cyan")
            text.append(shown, "bold")
            text.append(f"  (one value, step {steps[-1]:g})" if steps else "", "dim")
        text.append("\n\nlogged once, so there is no curve to draw", "dim")
        value.update(text)
