"""The runs screen at 100k and 1M runs, beside Textual's built-in DataTable.

    python benchmarks/tui_runs.py [--sizes 100000,1000000] [--keys 20] [--peer-max 100000]
        [--quick] [--results FILE]

For each size: a fresh lab with that many seeded runs (tests/tui/seed.py) and its
real lab service. Then, headless (Textual's pilot, 120x40):

- mlopslab: the app as `mlopslab tui --screen runs` builds it; first paint is the
  time from starting the app to the first frame that shows rows (the windowed
  RunsTable fetches 100-row pages through the service); per-key latency is the
  time from posting a key event to the first frame drawn with its result (for a
  key that needs a page not yet fetched, the frame that shows those rows).
- DataTable: a minimal app holding Textual's DataTable with the same columns; its
  first paint includes fetching every run through the same service call (what a
  DataTable needs before it can draw) and adding the rows.

The DataTable runs only up to `--peer-max` runs: at 100k its first paint takes about
26 s and grows with every row, so 1M would take minutes and gigabytes. Prints a
Markdown table (benchmarks/README.md keeps the latest one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from results import add_results_arg, record  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from mlopslab.client import LabClient, daemon  # noqa: E402
from mlopslab.lab import Lab  # noqa: E402
from mlopslab.tui.format import cell  # noqa: E402
from mlopslab.tui.widgets.runs_table import BASE_COLUMNS, RunsTable  # noqa: E402
from tests.tui.conftest import NOW, make_app, make_seeded_lab  # noqa: E402

SIZE = (120, 40)
FIELDS = [c.field for c in BASE_COLUMNS] + ["metrics.accuracy", "metrics.loss", "params.lr"]


class Frames:
    """Records each frame the app draws, and whether `ready()` held when it was drawn."""

    def __init__(self, app: App[Any]) -> None:
        self.frames: list[tuple[float, bool]] = []
        self.ready: Any = lambda: True
        draw = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                self.frames.append((time.perf_counter(), bool(self.ready())))
            draw(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    async def next_ready(self, after: int, timeout: float = 600) -> float:
        """Time of the first frame drawn after frame `after` with ready() true."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            for t, ready in self.frames[after:]:
                if ready:
                    return t
            await asyncio.sleep(0.0005)
        raise TimeoutError("no frame")


async def press(app: App[Any], frames: Frames, key: str) -> float:
    """Key press to the first frame that shows its result."""
    after = len(frames.frames)
    t = time.perf_counter()
    app.post_message(events.Key(key, None))
    return await frames.next_ready(after) - t


async def measure_keys(app: App[Any], frames: Frames, keys: int, sort: Any) -> dict[str, float]:
    result = {
        "down": statistics.median([await press(app, frames, "down") for _ in range(keys)]),
        "pagedown": statistics.median([await press(app, frames, "pagedown") for _ in range(max(3, keys // 4))]),
        "end": await press(app, frames, "end"),
        "home": await press(app, frames, "home"),
    }
    result["sort"] = await sort()
    return result


async def ours(lab: Lab, n: int, keys: int) -> dict[str, float]:
    start = time.perf_counter()
    app = make_app(lab, start="runs")
    frames = Frames(app)
    frames.ready = lambda: any(t.total == n and t.loaded for t in app.screen.query(RunsTable))
    async with app.run_test(size=SIZE) as pilot:
        result = {"first_paint": await frames.next_ready(0) - start}
        table = app.screen.query_one(RunsTable)
        frames.ready = lambda: table.loaded
        while table.current_field != "metrics.accuracy":
            await pilot.press("right")

        async def sort() -> float:
            return await press(app, frames, "s")

        result.update(await measure_keys(app, frames, keys, sort))
    return result


class DataTableApp(App[None]):
    def __init__(self, rows: list[list[str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for field in FIELDS:
            table.add_column(field, key=field)
        table.add_rows(self.rows)
        table.focus()


async def builtin(lab: Lab, n: int, keys: int) -> dict[str, float]:
    start = time.perf_counter()
    with LabClient(lab) as client:
        runs = client.runs.list(limit=n)
    rows = [[cell(r, f, NOW) for f in FIELDS] for r in runs]
    app = DataTableApp(rows)
    frames = Frames(app)
    frames.ready = lambda: any(t.row_count == n for t in app.query(DataTable))
    async with app.run_test(size=SIZE):
        result = {"first_paint": await frames.next_ready(0) - start}
        table = app.query_one(DataTable)
        frames.ready = lambda: True

        async def sort() -> float:
            after = len(frames.frames)
            t = time.perf_counter()
            table.sort("metrics.accuracy", key=lambda v: float(v) if v not in ("—", "nan") else -1.0, reverse=True)
            return await frames.next_ready(after) - t

        result.update(await measure_keys(app, frames, keys, sort))
    return result


def ms(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--peer-max", type=int, default=100_000, help="largest size the DataTable runs at")
    parser.add_argument("--quick", action="store_true", help="200 runs, 3 keys: checks the harness")
    add_results_arg(parser)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.keys = "200", 3
    lines = ["| runs | table | first paint | down | page down | end | home | sort by a metric |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    found: dict[int, dict[str, dict[str, float]]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        lab = make_seeded_lab(Path(tempfile.mkdtemp(prefix="mlopslab-bench-tui-")) / "lab", n)
        try:
            with LabClient(lab) as client:
                client.service.ping()  # the service is up before either table starts
            for name, measure in (("mlopslab RunsTable", ours), ("Textual DataTable", builtin)):
                if measure is builtin and n > args.peer_max:
                    lines.append(f"| {n:,} | {name} | not run (over --peer-max) | | | | | |")
                    continue
                r = asyncio.run(measure(lab, n, args.keys))
                found.setdefault(n, {})[name] = r
                lines.append(f"| {n:,} | {name} | {ms(r['first_paint'])} | {ms(r['down'])} | {ms(r['pagedown'])} "
                             f"| {ms(r['end'])} | {ms(r['home'])} | {ms(r['sort'])} |")
                print(lines[-1], file=sys.stderr, flush=True)
        finally:
            daemon.stop(lab, stop_ray=False)
    print("\n".join(lines))
    for n, both in found.items():
        mine, peer = both["mlopslab RunsTable"], both.get("Textual DataTable")
        record(args.results, benchmark="tui", figure=f"runs screen first paint, {n:,} runs", unit="ms",
               ours=mine["first_paint"] * 1000, lower_is_better=True, peer="Textual DataTable",
               peer_value=peer["first_paint"] * 1000 if peer else None, target="under 300 ms at 1M runs",
               met=mine["first_paint"] < 0.3 if n >= 1_000_000 else None)
        record(args.results, benchmark="tui", figure=f"runs screen page down, {n:,} runs", unit="ms",
               ours=mine["pagedown"] * 1000, lower_is_better=True, peer="Textual DataTable",
               peer_value=peer["pagedown"] * 1000 if peer else None)


if __name__ == "__main__":
    main()
