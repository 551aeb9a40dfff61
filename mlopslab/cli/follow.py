"""Following runs from the terminal: their logs as they arrive, then a summary."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from mlopslab.cli.output import (
    console,
    duration,
    err_console,
    fmt_duration,
    fmt_value,
    print_json,
    run_json,
    runs_table,
    status_text,
)
from mlopslab.core.runs import FINAL, exit_code

if TYPE_CHECKING:
    from mlopslab.service.client import LabClient

POLL_S = 0.3


def finish(client: LabClient, runs: list[dict[str, Any]], detach: bool, as_json: bool) -> None:
    """Print and exit the way `mlopslab run` promises."""
    if detach:
        if as_json:
            print_json([run_json(r) for r in runs] if len(runs) > 1 else run_json(runs[0]))
        else:
            for run in runs:
                click.echo(f"submitted run {run['id']} ({run['recipe']})")
        return
    out = err_console if as_json else console
    if len(runs) == 1:
        follow_logs(client, runs[0]["id"], out)
    final = [wait(client, r["id"]) for r in runs]
    if as_json:
        print_json([run_json(r) for r in final] if len(final) > 1 else run_json(final[0]))
    elif len(final) == 1:
        summary(final[0])
    else:
        console.print(runs_table(final, metric_keys=6))
    worst = max((exit_code(r["status"]) for r in final), key=lambda c: (c != 0, c))
    sys.exit(worst)


def summary(run: dict[str, Any]) -> None:
    metrics = "  ".join(f"{k}={fmt_value(v)}" for k, v in run.get("metrics", {}).items())
    console.print(f"[bold]{run['id']}[/] {status_text(run['status'])} in "
                  f"{fmt_duration(duration(run))}" + (f": {run['reason']}" if run.get("reason") else ""))
    if metrics:
        console.print(f"  metrics  {metrics}", soft_wrap=True)
    for artifact in run.get("artifacts", []):
        console.print(f"  {artifact['kind']:<9}{artifact['path']}  sha256:{artifact['sha256']}",
                      soft_wrap=True)


def follow_logs(client: LabClient, run_id: str, out: Any) -> dict[str, Any]:
    """Print a run's log lines until it ends; return the final run."""
    after = -1
    while True:
        run = client.call("get_run", run_id=run_id)
        for line in client.call("logs", run_id=run_id, after=after):
            after = line["seq"]
            prefix = "" if line["stream"] == "mlopslab" else "  | "
            out.print(f"{prefix}{line['line']}", markup=False, highlight=False, soft_wrap=True)
        if run["status"] in FINAL:
            if not client.call("logs", run_id=run_id, after=after):
                return run
        time.sleep(POLL_S)


def wait(client: LabClient, run_id: str) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = client.call("get_run", run_id=run_id)
        if run["status"] in FINAL:
            return run
        time.sleep(POLL_S)
