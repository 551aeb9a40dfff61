"""How the CLI shows things: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATUS_STYLE = {
    "finished": "green", "running": "cyan", "queued": "yellow", "starting": "yellow",
    "failed": "red",
    "timed_out": "red", "killed": "red", "cancelled": "magenta",
}


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """The documented `runs show --json` shape."""
    keys = ["id", "status", "reason", "recipe", "project", "user", "params", "metrics", "seed",
            "code_version", "data_version", "inputs", "artifacts", "steps", "resources",
            "deps", "host", "gpu_ids", "attempt", "priority", "queued_at", "started_at",
            "ended_at", "duration_s", "error", "recipe_path", "pid", "worker_pid"]
    full = {**run, "user": run.get("user_name"),
            "queued_at": run.get("queued_at") or run.get("created_at"), "duration_s": duration(run)}
    return {k: full.get(k) for k in keys}


def duration(run: dict[str, Any]) -> float | None:
    start, end = run.get("started_at"), run.get("ended_at")
    if not start:
        return None
    stop = datetime.fromisoformat(end) if end else datetime.now(datetime.fromisoformat(start).tzinfo)
    return round((stop - datetime.fromisoformat(start)).total_seconds(), 3)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def local_time(iso: str | None, short: bool = False) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime(
        "%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def runs_table(runs: list[dict[str, Any]], metric_keys: int = 3) -> Table:
    """One line per run; params only when the terminal is wide enough."""
    rows = []
    for run in runs:
        rows.append([
            run["id"], run["recipe"], status_text(run["status"]),
            local_time(run.get("started_at"), short=True), fmt_duration(duration(run)),
            " ".join(f"{k}={fmt_value(v)}" for k, v in (run.get("params") or {}).items()),
            " ".join(f"{k}={fmt_value(v)}"
                     for k, v in list(run.get("metrics", {}).items())[:metric_keys]),
        ])
    fixed = ["ID", "RECIPE", "STATUS", "STARTED", "DURATION"]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, name in enumerate(fixed):
        width = max([len(name)] + [len(Text.from_markup(r[i]).plain) for r in rows])
        table.add_column(name, no_wrap=True, min_width=width)
    wide = console.width >= 140
    if wide:
        table.add_column("PARAMS", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("METRICS", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in rows:
        table.add_row(*row[:5], *([row[5]] if wide else []), row[6])
    return table


def run_detail(run: dict[str, Any]) -> None:
    out = console.print
    out(f"[bold]run {run['id']}[/]  {status_text(run['status'])}"
        + (f"  ({run['reason']})" if run.get("reason") else ""))
    rows = [
        ("recipe", f"{run['recipe']}  ({run['recipe_path']})"),
        ("project / user", f"{run['project']} / {run.get('user_name')}"),
        ("seed", run.get("seed")), ("attempt", run.get("attempt")),
        ("code version", run.get("code_version")), ("data version", run.get("data_version")),
        ("host", run.get("host")), ("gpu ids", run.get("gpu_ids")),
        ("queued / started", f"{local_time(run['created_at'])} / {local_time(run.get('started_at'))}"),
        ("ended", f"{local_time(run.get('ended_at'))}  ({fmt_duration(duration(run))})"),
    ]
    for label, value in rows:
        out(f"  [dim]{label:<17}[/]{value if value is not None else '-'}")
    _section("params", [(k, fmt_value(v)) for k, v in (run.get("params") or {}).items()])
    _section("metrics (last)", [(k, fmt_value(v)) for k, v in run.get("metrics", {}).items()])
    _section("inputs", [(i["name"], f"{i['hash']} ({i['source']}) {i['path']}")
                        for i in run.get("inputs", [])])
    _section("steps", [(s["name"], s["status"] + (" (cache)" if s.get("cached") else ""))
                       for s in run.get("steps", [])])
    _section("artifacts", [(a["path"], f"sha256:{a['sha256']} {a['size']} B ({a['kind']})")
                           for a in run.get("artifacts", [])])
    if run.get("error"):
        out(f"[red]error[/]: {run['error']}")


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    console.print(f"[bold]{title}[/]")
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        console.print(f"  {key:<{width}}{value}", soft_wrap=True)
