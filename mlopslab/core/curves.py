"""One metric's curve for a chart: a run's points of one key, downsampled so that
spikes survive (each bucket of points keeps its lowest and its highest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CurveX = Literal["step", "time"]  # what a curve's x is: the step, or the time (epoch seconds)


@dataclass(frozen=True)
class MetricCurve:
    """One run's points of one metric in x order, at most two a bucket; `total` is how
    many (non-null) points the run has, so fewer than `total` means downsampled."""

    run_id: str
    x: list[float]
    y: list[float]
    total: int

    @property
    def downsampled(self) -> bool:
        return len(self.x) < self.total
