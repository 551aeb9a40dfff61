"""One figure of a benchmark, as the suite (benchmarks/__main__.py) collects them.

A benchmark script given `--results FILE` appends one JSON line per figure with
`record(...)`; the suite renders every figure of one run into the summary table of
benchmarks/README.md. `better` is how many times better mlopslab is than the peer
(above 1: mlopslab wins), whichever way the unit goes.

    from results import add_results_arg, record
    record(args.results, benchmark="search", figure="filter+sort, top 100, p95, 10k runs",
           unit="ms", ours=12.3, peer="MLflow 3.18 search_runs (sqlite)", peer_value=812.0,
           lower_is_better=True, target="under 20 ms and 50x MLflow", met=True)
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def add_results_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=None,
                        help="append each figure as a JSON line to this file (the suite's summary)")


def better(ours: float, peer: float | None, lower_is_better: bool) -> float | None:
    """How many times better ours is than the peer's figure."""
    if peer is None or ours <= 0 or peer <= 0:
        return None
    return peer / ours if lower_is_better else ours / peer


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of repeats."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def record(path: Path | None, *, benchmark: str, figure: str, unit: str, ours: float,
           lower_is_better: bool, target: str = "", met: bool | None = None,
           peer: str = "", peer_value: float | None = None, ours_range: Sequence[float] = (),
           peer_range: Sequence[float] = (), note: str = "") -> dict[str, Any]:
    """Append one figure; returns the row (also when there is no file)."""
    row: dict[str, Any] = {
        "benchmark": benchmark, "figure": figure, "unit": unit, "ours": ours,
        "ours_range": list(ours_range), "peer": peer, "peer_value": peer_value,
        "peer_range": list(peer_range), "lower_is_better": lower_is_better,
        "better": better(ours, peer_value, lower_is_better), "target": target, "met": met,
        "note": note,
    }
    if path is not None:
        with Path(path).open("a") as out:
            out.write(json.dumps(row) + "\n")
    return row
