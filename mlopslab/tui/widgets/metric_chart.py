"""Metric curves over steps, one line per run (plotext, drawn in braille)."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class MetricChart(PlotextPlot):
    """Plots `series`: label -> (steps, values)."""

    DEFAULT_CSS = "MetricChart { height: 1fr; min-height: 8; }"

    def show(self, title: str, series: dict[str, tuple[list[float], list[float]]]) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("step")
        for label, (steps, values) in series.items():
            if steps:
                plt.plot(steps, values, label=label, marker="braille")
        self.refresh()
